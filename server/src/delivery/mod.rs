//! Webhook delivery: turn a queued delivery into the exact HTTP request (prepare, render),
//! sign it the Standard Webhooks way when it is sent (sign), send it safely (send, guard), and
//! decide what happens when it is not accepted (schedule), and how hard to push each receiver
//! (congestion, rate); the worker runs these stages over the deliveries table. Triage groups what failed by cause.

pub mod congestion;
pub mod guard;
pub mod prepare;
pub mod rate;
pub mod render;
pub mod schedule;
pub mod send;
pub mod sign;
pub mod timeline;
pub mod triage;
mod worker;

pub use worker::{DeliverySettings, DeliveryWorker, Handoff, HandoffSlot, LEASE};
