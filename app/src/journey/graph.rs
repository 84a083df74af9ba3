//! The journey graph: nodes connected by branch-labelled edges, backed by petgraph.

use std::collections::HashMap;

use petgraph::{
    Direction,
    stable_graph::{NodeIndex, StableDiGraph},
    visit::{EdgeRef, IntoEdgeReferences},
};
use serde::{Deserialize, Serialize};

use super::{
    kinds::NodeKindTag,
    node::{Branch, Node, NodeId},
};

/// An edge as stored: the `branch` output of `from` leads to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Edge {
    pub from: NodeId,
    pub branch: Branch,
    pub to: NodeId,
}

/// An output of a node: the connection a contact leaves `node` by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Output {
    pub node: NodeId,
    pub branch: Branch,
}

/// The stable JSON form of a journey, as the API and the database hold it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JourneyDocument {
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
}

/// A document that cannot be a graph at all; a graph that can be drawn but not run is a
/// validation error instead (see [`Journey::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StructureError {
    #[error("node id \"{0}\" is used by more than one node")]
    DuplicateNode(NodeId),
    #[error("a node id must not be empty")]
    EmptyNodeId,
    #[error(
        "edge from \"{from}\" ({branch}) leads to \"{to}\", which is not a node of this journey"
    )]
    UnknownTarget {
        from: NodeId,
        branch: Branch,
        to: NodeId,
    },
    #[error("edge from \"{0}\" starts at a node that is not part of this journey")]
    UnknownSource(NodeId),
    #[error(
        "a journey has at most {MAX_NODES} nodes and {MAX_EDGES} connections; this one has {nodes} and {edges}"
    )]
    TooLarge { nodes: usize, edges: usize },
    #[error(
        "node \"{from}\" has more than one \"{branch}\" connection; each branch leads to one node"
    )]
    DuplicateBranch { from: NodeId, branch: Branch },
}

/// The largest journey accepted: a bound on what one request makes the server store, validate
/// and draw (`cargo bench -p server --bench validate` measures validation at this size).
pub const MAX_NODES: usize = 2_000;
/// Two outputs per node at the most that a kind has (condition, wait).
pub const MAX_EDGES: usize = 2 * MAX_NODES;

/// An edit the editor attempted that the graph refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Structure(#[from] StructureError),
    #[error("node \"{0}\" does not exist")]
    NoSuchNode(NodeId),
    #[error("{} nodes have no \"{branch}\" output", .kind.label())]
    NoSuchBranch { kind: NodeKindTag, branch: Branch },
    #[error("a node cannot connect to itself")]
    SelfLoop,
}

#[derive(Debug, Clone, Default)]
pub struct Journey {
    graph: StableDiGraph<Node, Branch>,
    index: HashMap<NodeId, NodeIndex>,
}

impl Journey {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_document(document: JourneyDocument) -> Result<Self, StructureError> {
        let (nodes, edges) = (document.nodes.len(), document.edges.len());
        if nodes > MAX_NODES || edges > MAX_EDGES {
            return Err(StructureError::TooLarge { nodes, edges });
        }
        let mut journey = Self::new();
        for node in document.nodes {
            journey.insert_node(node)?;
        }
        for edge in document.edges {
            let from = *journey
                .index
                .get(&edge.from)
                .ok_or_else(|| StructureError::UnknownSource(edge.from.clone()))?;
            let to = *journey
                .index
                .get(&edge.to)
                .ok_or_else(|| StructureError::UnknownTarget {
                    from: edge.from.clone(),
                    branch: edge.branch,
                    to: edge.to.clone(),
                })?;
            if journey.branch_target(from, edge.branch).is_some() {
                return Err(StructureError::DuplicateBranch {
                    from: edge.from,
                    branch: edge.branch,
                });
            }
            journey.graph.add_edge(from, to, edge.branch);
        }
        Ok(journey)
    }

    pub fn to_document(&self) -> JourneyDocument {
        JourneyDocument {
            nodes: self.nodes().cloned().collect(),
            edges: self.edges().collect(),
        }
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.graph.node_indices().map(|index| &self.graph[index])
    }

    pub fn edges(&self) -> impl Iterator<Item = Edge> + '_ {
        self.graph.edge_references().map(|edge| Edge {
            from: self.graph[edge.source()].id.clone(),
            branch: *edge.weight(),
            to: self.graph[edge.target()].id.clone(),
        })
    }

    pub fn node(&self, id: &NodeId) -> Option<&Node> {
        self.index.get(id).map(|&index| &self.graph[index])
    }

    pub fn node_mut(&mut self, id: &NodeId) -> Option<&mut Node> {
        let index = *self.index.get(id)?;
        self.graph.node_weight_mut(index)
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// The node the `branch` output of `from` leads to, if connected.
    pub fn next(&self, from: &NodeId, branch: Branch) -> Option<&Node> {
        let from = *self.index.get(from)?;
        self.branch_target(from, branch).map(|to| &self.graph[to])
    }

    /// The outputs of `id` that are connected, with the node each leads to.
    pub fn outputs(&self, id: &NodeId) -> Vec<(Branch, &Node)> {
        let Some(&index) = self.index.get(id) else {
            return Vec::new();
        };
        self.graph
            .edges_directed(index, Direction::Outgoing)
            .map(|edge| (*edge.weight(), &self.graph[edge.target()]))
            .collect()
    }

    /// The nodes with a connection into `id`.
    pub fn inputs(&self, id: &NodeId) -> Vec<&Node> {
        let Some(&index) = self.index.get(id) else {
            return Vec::new();
        };
        self.graph
            .neighbors_directed(index, Direction::Incoming)
            .map(|source| &self.graph[source])
            .collect()
    }

    pub fn add_node(&mut self, node: Node) -> Result<(), EditError> {
        self.insert_node(node).map_err(EditError::from)
    }

    /// Removes the node and every connection into or out of it.
    pub fn remove_node(&mut self, id: &NodeId) -> Option<Node> {
        let index = self.index.remove(id)?;
        self.graph.remove_node(index)
    }

    /// Connects the `branch` output of `from` to `to`, replacing what that output led to
    /// before (returned), so that each output always leads to at most one node.
    pub fn connect(
        &mut self,
        from: &NodeId,
        branch: Branch,
        to: &NodeId,
    ) -> Result<Option<NodeId>, EditError> {
        let source = *self
            .index
            .get(from)
            .ok_or_else(|| EditError::NoSuchNode(from.clone()))?;
        let target = *self
            .index
            .get(to)
            .ok_or_else(|| EditError::NoSuchNode(to.clone()))?;
        if source == target {
            return Err(EditError::SelfLoop);
        }
        let kind = &self.graph[source].kind;
        if !kind.branches().contains(&branch) {
            return Err(EditError::NoSuchBranch {
                kind: kind.tag(),
                branch,
            });
        }
        let replaced = self.disconnect(from, branch);
        self.graph.add_edge(source, target, branch);
        Ok(replaced)
    }

    /// Removes the connection of the `branch` output of `from`; returns where it led.
    pub fn disconnect(&mut self, from: &NodeId, branch: Branch) -> Option<NodeId> {
        let source = *self.index.get(from)?;
        let edge = self
            .graph
            .edges_directed(source, Direction::Outgoing)
            .find(|edge| *edge.weight() == branch)?
            .id();
        let (_, target) = self.graph.edge_endpoints(edge)?;
        let target_id = self.graph[target].id.clone();
        self.graph.remove_edge(edge);
        Some(target_id)
    }

    pub(super) fn graph(&self) -> &StableDiGraph<Node, Branch> {
        &self.graph
    }

    pub(super) fn index_of(&self, id: &NodeId) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    fn insert_node(&mut self, node: Node) -> Result<(), StructureError> {
        if node.id.as_str().is_empty() {
            return Err(StructureError::EmptyNodeId);
        }
        if self.index.contains_key(&node.id) {
            return Err(StructureError::DuplicateNode(node.id));
        }
        let id = node.id.clone();
        let index = self.graph.add_node(node);
        self.index.insert(id, index);
        Ok(())
    }

    fn branch_target(&self, from: NodeIndex, branch: Branch) -> Option<NodeIndex> {
        self.graph
            .edges_directed(from, Direction::Outgoing)
            .find(|edge| *edge.weight() == branch)
            .map(|edge| edge.target())
    }
}

impl PartialEq for Journey {
    fn eq(&self, other: &Self) -> bool {
        self.to_document() == other.to_document()
    }
}

impl Serialize for Journey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_document().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Journey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let document = JourneyDocument::deserialize(deserializer)?;
        Self::from_document(document).map_err(serde::de::Error::custom)
    }
}
