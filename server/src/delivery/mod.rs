//! Webhook delivery: turn a queued delivery into the exact HTTP request (render), sign it the
//! Standard Webhooks way (sign), send it safely (send), and decide what happens when it is not
//! accepted (schedule); the worker ties these to the deliveries table.

pub mod guard;
pub mod render;
pub mod schedule;
pub mod send;
pub mod sign;
mod worker;

pub use worker::{DeliverySettings, DeliveryWorker, signing_secrets};
