//! Sync: the only code that speaks the automerge-repo wire protocol.
//!
//! `wire` encodes and decodes messages; `connection` is the sans-IO protocol core of one
//! connection; `session` routes a connection's messages to the documents (`docs`) and their
//! answers back. Sockets belong to `http`, which pumps frames through a [`SyncSession`].

pub mod connection;
mod session;
pub mod wire;

pub use session::{Outbox, Step, SyncSession};
