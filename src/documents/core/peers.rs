//! The document's sync peers: who they are, their sync states, and what they are sent. A peer
//! whose queue is full is too far behind: it is dropped (its connection closes) rather than
//! allowed to hold the document up. Presence is relayed, never stored, once per (sender,
//! session, count): clients forward each other's ephemeral messages.

use std::collections::HashMap;

use automerge::sync;
use automerge::Automerge;

use super::{DocumentCore, Effect};
use crate::documents::peer::{ConnId, Outbound, Presence};
use crate::documents::SyncMessages;
use crate::domain::UserName;

/// How many presence sessions a document remembers for de-duplication.
const MAX_PRESENCE_SESSIONS: usize = 4096;

/// Who a peer is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    pub conn: ConnId,
    pub user: UserName,
    /// Viewers receive, but their changes are never applied.
    pub read_only: bool,
    /// The automerge-repo id the peer uses for this document.
    pub document_id: String,
}

struct Peer {
    info: PeerInfo,
    state: sync::State,
    /// Whether a read-only peer was told its changes are not applied.
    warned_read_only: bool,
}

#[derive(Default)]
pub(super) struct Peers {
    peers: HashMap<ConnId, Peer>,
    /// The highest presence count relayed per (sender, session).
    presence_seen: HashMap<(String, String), u64>,
    made: SyncMessages,
}

impl Peers {
    pub(super) fn len(&self) -> usize {
        self.peers.len()
    }

    pub(super) fn state_mut(&mut self, conn: ConnId) -> Option<&mut sync::State> {
        self.peers.get_mut(&conn).map(|p| &mut p.state)
    }

    pub(super) fn user(&self, conn: ConnId) -> Option<&UserName> {
        self.peers.get(&conn).map(|p| &p.info.user)
    }

    /// Whether this presence is news (and remembers it).
    fn fresh(&mut self, presence: &Presence) -> bool {
        let key = (presence.sender_id.clone(), presence.session_id.clone());
        if self
            .presence_seen
            .get(&key)
            .is_some_and(|&seen| presence.count <= seen)
        {
            return false;
        }
        if self.presence_seen.len() >= MAX_PRESENCE_SESSIONS {
            // Sessions come and go; forgetting them all at worst relays one stale copy each.
            self.presence_seen.clear();
        }
        self.presence_seen.insert(key, presence.count);
        true
    }
}

impl DocumentCore {
    /// Subscribes a peer on its first message; warns a viewer whose changes are not applied.
    pub(super) fn join(&mut self, info: PeerInfo, has_unapplied: bool) {
        let conn = info.conn;
        let peer = self.peers.peers.entry(conn).or_insert_with(|| Peer {
            state: if info.read_only {
                sync::State::new_read_only()
            } else {
                sync::State::new()
            },
            info,
            warned_read_only: false,
        });
        if peer.info.read_only && has_unapplied && !peer.warned_read_only {
            peer.warned_read_only = true;
            let message = Outbound::Error(
                "this token is read-only (viewer): your changes were not applied".into(),
            );
            self.effects.push(Effect::Send { conn, message });
        }
    }

    /// Sends one peer whatever it is missing.
    pub(super) fn answer(&mut self, conn: ConnId) {
        let Peers { peers, made, .. } = &mut self.peers;
        if let Some(peer) = peers.get_mut(&conn) {
            if let Some(effect) = sync_effect(made, &self.doc, conn, peer) {
                self.effects.push(effect);
            }
        }
    }

    /// Sends each peer whatever it is missing.
    pub(super) fn broadcast(&mut self) {
        let Peers { peers, made, .. } = &mut self.peers;
        for (conn, peer) in peers.iter_mut() {
            if let Some(effect) = sync_effect(made, &self.doc, *conn, peer) {
                self.effects.push(effect);
            }
        }
    }

    /// Relays presence to every other peer of the document.
    pub(super) fn relay(&mut self, from: ConnId, presence: Presence) {
        if !self.peers.peers.contains_key(&from) || !self.peers.fresh(&presence) {
            return;
        }
        for conn in self.peers.peers.keys().filter(|c| **c != from) {
            self.effects.push(Effect::Relay {
                conn: *conn,
                presence: presence.clone(),
            });
        }
        self.effects.push(Effect::Share { presence });
    }

    /// Relays presence from another process's peer to every peer here, once.
    pub(super) fn relay_remote(&mut self, presence: Presence) {
        if !self.peers.fresh(&presence) {
            return;
        }
        for conn in self.peers.peers.keys() {
            self.effects.push(Effect::Relay {
                conn: *conn,
                presence: presence.clone(),
            });
        }
    }

    pub(super) fn leave(&mut self, conn: ConnId) {
        self.peers.peers.remove(&conn);
    }

    /// A peer whose queue was full: it is gone, and its connection closes.
    pub(super) fn behind(&mut self, conn: ConnId) {
        if self.peers.peers.remove(&conn).is_some() {
            self.effects.push(Effect::Disconnect {
                conn,
                reason: "this connection fell too far behind; reconnect to catch up".into(),
            });
        }
    }

    /// Unsubscribes a peer and closes its connection with a reason.
    pub(super) fn disconnect(&mut self, conn: ConnId, reason: &str) {
        self.peers.peers.remove(&conn);
        self.effects.push(Effect::Disconnect {
            conn,
            reason: reason.to_owned(),
        });
    }
}

fn sync_effect(
    made: &mut SyncMessages,
    doc: &Automerge,
    conn: ConnId,
    peer: &mut Peer,
) -> Option<Effect> {
    let data = made.generate(doc, &mut peer.state)?;
    Some(Effect::Send {
        conn,
        message: Outbound::Sync {
            document_id: peer.info.document_id.clone(),
            data,
        },
    })
}
