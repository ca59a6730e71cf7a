//! Glossa: an annotation server for newsrooms.
//!
//! Every change is an event in an append-only log (`store`); each article's annotations live in
//! an Automerge document owned by one task (`documents`); read models and snapshots are derived from
//! the log. See `ARCHITECTURE.md` for the map.

pub mod admin;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod desk;
pub mod documents;
pub mod domain;
pub mod exports;
pub mod feed;
pub mod history;
pub mod http;
pub mod hypothesis;
pub mod identity;
pub mod metrics;
pub mod search;
pub mod seeds;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod w3c;
pub mod webhooks;

#[cfg(test)]
mod properties;
