//! Integration tests: the real server over HTTP against real databases. Every test written with
//! `backend_tests!` runs once on SQLite and once on PostgreSQL.

#[macro_use]
mod support;

mod abuse;
mod access;
mod batching;
mod browser;
mod claims;
mod contacts;
mod crash;
mod deletion;
mod deliveries;
mod durability;
mod engine;
mod events;
mod failover;
mod health;
mod held;
mod journeys;
mod messages;
mod metrics;
mod migrations;
mod openapi;
mod outage;
mod overload;
mod pages;
mod providers;
mod rate;
mod reentry;
mod retention;
mod roles;
mod scale_out;
mod secrets;
mod startup;
mod tls;
mod triage;
mod waits;
mod webhooks;
mod workers_bench;
