//! Integration tests: one binary, every test through the public boundaries (HTTP on port 0,
//! the real binary for crash tests).

mod access;
mod annotations;
mod articles;
mod auth;
mod backend;
mod claims;
mod conformance;
mod containers;
mod crash;
mod crash_sync;
mod events;
mod exports;
mod failover;
mod helpers;
mod history;
mod idempotency;
mod js_client;
mod pg_cluster;
mod postgres;
mod preambles;
mod rebuild;
mod replicas;
mod semantics;
mod style;
mod sync;
mod tail;
mod unavailable;
mod unload;
mod versions;
mod w3c;
mod web_ui;
