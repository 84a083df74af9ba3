//! The runtime that moves contacts through published journeys.
//!
//! [`interpret`] holds the rules of each node kind as plain functions over a journey and a
//! contact's facts; the store applies what they decide (visits, messages, deliveries and the
//! enrollment's next state) in one transaction per batch.

pub mod interpret;
mod worker;

pub use interpret::{
    Awaiting, Context, Effect, EventHistory, Halt, InterpretError, Outcome, advance, resume,
};
pub use worker::{Engine, EngineError, EngineSettings};
