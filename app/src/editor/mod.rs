//! The journey editor's model, apart from any browser code: a journey being edited, every edit
//! as a [`Change`] that can be undone and redone, and the canvas geometry (`canvas`). The
//! Leptos editor page only turns pointer and keyboard input into these calls.

pub mod canvas;

use crate::{
    ids::WebhookId,
    journey::{
        Branch, Edge, EditError, Journey, JourneyDocument, Node, NodeId, NodeKind, Position,
        StructureError, ValidationError,
    },
};

/// One edit, holding what it takes to undo it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    AddNode(Node),
    /// The node as it was, with the connections into and out of it.
    RemoveNode {
        node: Node,
        edges: Vec<Edge>,
    },
    MoveNode {
        id: NodeId,
        from: Position,
        to: Position,
    },
    /// `edge` made; `replaced` is where its output led before, if anywhere.
    Connect {
        edge: Edge,
        replaced: Option<NodeId>,
    },
    Disconnect(Edge),
    /// New settings for a node (its kind stays).
    Configure {
        id: NodeId,
        before: NodeKind,
        after: NodeKind,
    },
}

/// A journey being edited, with its undo and redo stacks.
#[derive(Debug, Clone, Default)]
pub struct Editor {
    journey: Journey,
    undo: Vec<Change>,
    redo: Vec<Change>,
    /// Bumped by every edit, undo and redo: what autosave compares against.
    revision: u64,
    /// Whether the next [`Editor::configure`] of the same node extends the last undo step.
    typing: bool,
}

impl Editor {
    pub fn open(document: JourneyDocument) -> Result<Self, StructureError> {
        Ok(Self {
            journey: Journey::from_document(document)?,
            ..Self::default()
        })
    }

    pub fn journey(&self) -> &Journey {
        &self.journey
    }

    pub fn document(&self) -> JourneyDocument {
        self.journey.to_document()
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Every problem that keeps the journey from being published, as the server finds them.
    pub fn problems(&self, webhook_exists: impl Fn(WebhookId) -> bool) -> Vec<ValidationError> {
        let mut problems = self.journey.validate();
        problems.extend(self.journey.check_webhooks(webhook_exists));
        problems
    }

    /// Adds a node of this kind at `position`; returns its new id.
    pub fn add_node(&mut self, kind: NodeKind, position: Position) -> NodeId {
        let id = self.unused_id();
        let node = Node {
            id: id.clone(),
            position,
            kind,
        };
        self.apply(Change::AddNode(node))
            .expect("a fresh id never clashes");
        id
    }

    /// Moves a node; a move to where it already is records nothing.
    pub fn move_node(&mut self, id: &NodeId, to: Position) -> Result<(), EditError> {
        let from = self.position(id)?;
        if from == to {
            return Ok(());
        }
        self.apply(Change::MoveNode {
            id: id.clone(),
            from,
            to,
        })
    }

    pub fn remove_node(&mut self, id: &NodeId) -> Result<(), EditError> {
        let node = self
            .journey
            .node(id)
            .cloned()
            .ok_or_else(|| EditError::NoSuchNode(id.clone()))?;
        let edges = self
            .journey
            .edges()
            .filter(|edge| edge.from == *id || edge.to == *id)
            .collect();
        self.apply(Change::RemoveNode { node, edges })
    }

    /// Connects the `branch` output of `from` to `to`, replacing where it led before.
    pub fn connect(&mut self, from: &NodeId, branch: Branch, to: &NodeId) -> Result<(), EditError> {
        let edge = Edge {
            from: from.clone(),
            branch,
            to: to.clone(),
        };
        if self.journey.edges().any(|existing| existing == edge) {
            return Ok(());
        }
        self.apply(Change::Connect {
            edge,
            replaced: None,
        })
    }

    pub fn disconnect(&mut self, from: &NodeId, branch: Branch) -> Result<(), EditError> {
        let to = self
            .journey
            .next(from, branch)
            .map(|node| node.id.clone())
            .ok_or_else(|| EditError::NoSuchNode(from.clone()))?;
        self.apply(Change::Disconnect(Edge {
            from: from.clone(),
            branch,
            to,
        }))
    }

    /// New settings for a node. Typing into one field makes many of these in a row; they are
    /// merged so that one undo takes back the whole field, not one character.
    pub fn configure(&mut self, id: &NodeId, after: NodeKind) -> Result<(), EditError> {
        let before = self
            .journey
            .node(id)
            .map(|node| node.kind.clone())
            .ok_or_else(|| EditError::NoSuchNode(id.clone()))?;
        if before == after {
            return Ok(());
        }
        if self.typing
            && let Some(Change::Configure {
                id: last_id,
                after: last_after,
                ..
            }) = self.undo.last_mut()
            && last_id == id
        {
            set_kind(&mut self.journey, id, after.clone())?;
            *last_after = after;
            self.revision += 1;
            return Ok(());
        }
        self.apply(Change::Configure {
            id: id.clone(),
            before,
            after,
        })?;
        self.typing = true;
        Ok(())
    }

    /// Ends the merging of [`Editor::configure`] calls (the field lost focus): the next one is
    /// its own undo step.
    pub fn seal(&mut self) {
        self.typing = false;
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Takes back the last edit; `false` if there is none.
    pub fn undo(&mut self) -> bool {
        let Some(change) = self.undo.pop() else {
            return false;
        };
        revert(&mut self.journey, &change).expect("the journey is as the change left it");
        self.redo.push(change);
        self.typing = false;
        self.revision += 1;
        true
    }

    /// Makes the last undone edit again; `false` if there is none.
    pub fn redo(&mut self) -> bool {
        let Some(change) = self.redo.pop() else {
            return false;
        };
        apply(&mut self.journey, &change).expect("the journey is as the undo left it");
        self.undo.push(change);
        self.typing = false;
        self.revision += 1;
        true
    }

    fn apply(&mut self, change: Change) -> Result<(), EditError> {
        let change = match change {
            Change::Connect { edge, .. } => {
                let replaced = self.journey.connect(&edge.from, edge.branch, &edge.to)?;
                Change::Connect { edge, replaced }
            }
            change => {
                apply(&mut self.journey, &change)?;
                change
            }
        };
        self.undo.push(change);
        self.redo.clear();
        self.typing = false;
        self.revision += 1;
        Ok(())
    }

    fn position(&self, id: &NodeId) -> Result<Position, EditError> {
        self.journey
            .node(id)
            .map(|node| node.position)
            .ok_or_else(|| EditError::NoSuchNode(id.clone()))
    }

    /// `n1`, `n2`, … : the first not taken.
    fn unused_id(&self) -> NodeId {
        (1..)
            .map(|n| NodeId::new(format!("n{n}")))
            .find(|id| self.journey.node(id).is_none())
            .expect("some number is free")
    }
}

fn set_kind(journey: &mut Journey, id: &NodeId, kind: NodeKind) -> Result<(), EditError> {
    let node = journey
        .node_mut(id)
        .ok_or_else(|| EditError::NoSuchNode(id.clone()))?;
    node.kind = kind;
    Ok(())
}

fn set_position(journey: &mut Journey, id: &NodeId, to: Position) -> Result<(), EditError> {
    let node = journey
        .node_mut(id)
        .ok_or_else(|| EditError::NoSuchNode(id.clone()))?;
    node.position = to;
    Ok(())
}

fn apply(journey: &mut Journey, change: &Change) -> Result<(), EditError> {
    match change {
        Change::AddNode(node) => journey.add_node(node.clone()),
        Change::RemoveNode { node, .. } => journey
            .remove_node(&node.id)
            .map(|_| ())
            .ok_or_else(|| EditError::NoSuchNode(node.id.clone())),
        Change::MoveNode { id, to, .. } => set_position(journey, id, *to),
        Change::Connect { edge, .. } => journey
            .connect(&edge.from, edge.branch, &edge.to)
            .map(|_| ()),
        Change::Disconnect(edge) => journey
            .disconnect(&edge.from, edge.branch)
            .map(|_| ())
            .ok_or_else(|| EditError::NoSuchNode(edge.from.clone())),
        Change::Configure { id, after, .. } => set_kind(journey, id, after.clone()),
    }
}

fn revert(journey: &mut Journey, change: &Change) -> Result<(), EditError> {
    match change {
        Change::AddNode(node) => journey
            .remove_node(&node.id)
            .map(|_| ())
            .ok_or_else(|| EditError::NoSuchNode(node.id.clone())),
        Change::RemoveNode { node, edges } => {
            journey.add_node(node.clone())?;
            for edge in edges {
                journey.connect(&edge.from, edge.branch, &edge.to)?;
            }
            Ok(())
        }
        Change::MoveNode { id, from, .. } => set_position(journey, id, *from),
        Change::Connect { edge, replaced } => {
            journey.disconnect(&edge.from, edge.branch);
            if let Some(to) = replaced {
                journey.connect(&edge.from, edge.branch, to)?;
            }
            Ok(())
        }
        Change::Disconnect(edge) => journey
            .connect(&edge.from, edge.branch, &edge.to)
            .map(|_| ()),
        Change::Configure { id, before, .. } => set_kind(journey, id, before.clone()),
    }
}

#[cfg(test)]
mod tests;
