//! Helpers for tests that sync Automerge documents directly, without the server.

use automerge::sync::{self, SyncDoc};
use automerge::Automerge;

/// Syncs two documents with Automerge's own sync until neither has anything to send.
pub(crate) fn sync_until_quiet(
    a: &mut Automerge,
    sa: &mut sync::State,
    b: &mut Automerge,
    sb: &mut sync::State,
) {
    for _ in 0..20 {
        let ab = a.generate_sync_message(sa);
        let ba = b.generate_sync_message(sb);
        if ab.is_none() && ba.is_none() {
            return;
        }
        if let Some(m) = ab {
            b.receive_sync_message(sb, m).unwrap();
        }
        if let Some(m) = ba {
            a.receive_sync_message(sa, m).unwrap();
        }
    }
    panic!("the documents did not stop syncing");
}
