//! Integration tests: one binary, every test through the public boundaries (HTTP on port 0,
//! the real binary for crash tests).

mod access;
mod annotations;
mod articles;
mod auth;
mod backend;
mod caddy;
mod claims;
mod cluster;
mod cluster_script;
mod conformance;
mod containers;
mod crash;
mod crash_sync;
mod events;
mod exports;
mod helpers;
mod history;
mod idempotency;
mod js_client;
mod js_failover;
mod pg_cluster;
mod preambles;
mod proxied;
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
