//! The journey model shared by the editor (WASM) and the engine: node kinds and their settings,
//! the graph of nodes and branch-labelled edges, its JSON document and its validation.
//!
//! A journey is stored and exchanged as a [`JourneyDocument`] (nodes with string ids and
//! positions, edges `{from, branch, to}`); in memory it is a [`Journey`] backed by a petgraph
//! `StableGraph`, which keeps node indices stable while the editor adds and removes nodes.

mod graph;
mod kinds;
mod node;
mod rule;
mod validate;

pub use graph::{
    Edge, EditError, Journey, JourneyDocument, MAX_EDGES, MAX_NODES, Output, StructureError,
};
pub use kinds::NodeKindTag;
pub use node::{
    Action, Activity, Branch, Channel, Combine, Condition, ConditionRule, Delay, KeyValue, Node,
    NodeId, NodeKind, Position, Resume, Span, TimeUnit, Trigger, WaitForEvent, WaitTarget,
    WebhookNode,
};
pub use rule::{Facts, Operator, Rule};
pub use validate::ValidationError;

/// Journey builders for tests and benches, here and in the server's (feature `test-support`).
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
#[cfg(test)]
mod tests;
