//! The protocol core of one connection, sans IO: frames in, actions out.
//!
//! It knows the handshake and the message rules (join first, once, with protocol "1"; every
//! later message from the peer that joined; sync data that decodes as an Automerge sync
//! message). It does not know sockets, documents or storage, so it is tested with plain bytes.

use automerge::sync;

use super::wire::{self, EphemeralEnvelope, PeerMetadata, WireError, WireMessage};

/// What the session should do with a frame.
#[derive(Debug)]
pub enum Action {
    /// Send this message back.
    Reply(WireMessage),
    /// Apply a sync message to a document (and keep this peer subscribed to it).
    Sync {
        document_id: String,
        message: sync::Message,
    },
    /// Relay presence to the document's other peers.
    Ephemeral(EphemeralEnvelope),
    /// The peer is leaving; close quietly.
    Leave,
    /// Nothing to do.
    Ignore,
}

/// Why the connection must end; the message goes to the peer in an `error` before closing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("send `join` first")]
    NotJoined,
    #[error("`join` was already sent on this connection")]
    JoinedTwice,
    #[error("unsupported protocol version: this server speaks version 1")]
    UnsupportedVersion,
    #[error("`senderId` {0:?} is not the peer that joined this connection")]
    WrongSender(String),
    #[error("`data` is not an Automerge sync message: {0}")]
    BadSyncData(String),
    #[error("a server does not accept `{0}` messages")]
    Unexpected(&'static str),
}

/// The protocol state of one connection.
pub struct Connection {
    server_id: String,
    server_storage_id: String,
    peer: Option<String>,
}

impl Connection {
    pub fn new(server_id: impl Into<String>, server_storage_id: impl Into<String>) -> Self {
        Self {
            server_id: server_id.into(),
            server_storage_id: server_storage_id.into(),
            peer: None,
        }
    }

    /// The peer id the client joined with.
    pub fn peer_id(&self) -> Option<&str> {
        self.peer.as_deref()
    }

    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    fn check_sender(&self, sender: &str) -> Result<(), ProtocolError> {
        match &self.peer {
            Some(peer) if peer == sender => Ok(()),
            Some(_) => Err(ProtocolError::WrongSender(sender.to_owned())),
            None => Err(ProtocolError::NotJoined),
        }
    }

    /// Handles one binary frame.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Action, ProtocolError> {
        let message = wire::decode(frame)?;
        if self.peer.is_none() && !matches!(message, WireMessage::Join { .. }) {
            return Err(ProtocolError::NotJoined);
        }
        match message {
            WireMessage::Join {
                sender_id,
                supported_versions,
                ..
            } => {
                if self.peer.is_some() {
                    return Err(ProtocolError::JoinedTwice);
                }
                // Clients that send no list predate versioning and speak version 1.
                if !supported_versions.is_empty()
                    && !supported_versions
                        .iter()
                        .any(|v| v == wire::PROTOCOL_VERSION)
                {
                    return Err(ProtocolError::UnsupportedVersion);
                }
                self.peer = Some(sender_id.clone());
                Ok(Action::Reply(WireMessage::Peer {
                    sender_id: self.server_id.clone(),
                    target_id: sender_id,
                    selected_version: wire::PROTOCOL_VERSION.into(),
                    metadata: PeerMetadata {
                        storage_id: Some(self.server_storage_id.clone()),
                        is_ephemeral: false,
                    },
                }))
            }
            WireMessage::Request(envelope) | WireMessage::Sync(envelope) => {
                self.check_sender(&envelope.sender_id)?;
                let message = sync::Message::decode(&envelope.data)
                    .map_err(|e| ProtocolError::BadSyncData(e.to_string()))?;
                Ok(Action::Sync {
                    document_id: envelope.document_id,
                    message,
                })
            }
            // automerge-repo forwards ephemeral messages to every peer but the one they came
            // from, so a client passes on its collaborators' presence under their sender ids.
            // The relay drops what it has already seen (by sender, session and count).
            WireMessage::Ephemeral(envelope) => Ok(Action::Ephemeral(envelope)),
            WireMessage::Leave { .. } | WireMessage::Error { .. } => Ok(Action::Leave),
            WireMessage::DocUnavailable { .. } | WireMessage::Gossip { .. } => Ok(Action::Ignore),
            WireMessage::Peer { .. } => Err(ProtocolError::Unexpected("peer")),
        }
    }

    /// The envelope for a sync message to this peer.
    pub fn sync_message(&self, document_id: &str, data: Vec<u8>) -> WireMessage {
        WireMessage::Sync(wire::SyncEnvelope {
            document_id: document_id.to_owned(),
            sender_id: self.server_id.clone(),
            target_id: self.peer.clone().unwrap_or_default(),
            data,
        })
    }

    pub fn unavailable(&self, document_id: &str) -> WireMessage {
        WireMessage::DocUnavailable {
            document_id: document_id.to_owned(),
            sender_id: self.server_id.clone(),
            target_id: self.peer.clone().unwrap_or_default(),
        }
    }

    /// Presence from another peer, readdressed to this one; sender, session and count are kept
    /// because clients drop messages whose count does not increase per sender and session.
    pub fn relay(&self, mut envelope: EphemeralEnvelope) -> WireMessage {
        envelope.target_id = self.peer.clone().unwrap_or_default();
        WireMessage::Ephemeral(envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::wire::{encode, SyncEnvelope};
    use automerge::sync::SyncDoc;

    fn join(versions: &[&str]) -> Vec<u8> {
        encode(&WireMessage::Join {
            sender_id: "peer-a".into(),
            supported_versions: versions.iter().map(|v| v.to_string()).collect(),
            metadata: None,
        })
    }

    fn sync_from(sender: &str, data: Vec<u8>) -> Vec<u8> {
        encode(&WireMessage::Sync(SyncEnvelope {
            document_id: "doc".into(),
            sender_id: sender.into(),
            target_id: "server".into(),
            data,
        }))
    }

    #[test]
    fn join_is_answered_with_peer_at_once() {
        let mut connection = Connection::new("server", "storage");
        let Action::Reply(WireMessage::Peer {
            target_id,
            selected_version,
            ..
        }) = connection.receive(&join(&["1"])).unwrap()
        else {
            panic!("expected a peer message")
        };
        assert_eq!(target_id, "peer-a");
        assert_eq!(selected_version, "1");
        assert_eq!(
            connection.receive(&join(&["1"])).unwrap_err(),
            ProtocolError::JoinedTwice
        );
    }

    #[test]
    fn messages_before_join_and_unknown_versions_are_refused() {
        let mut connection = Connection::new("server", "storage");
        let empty = automerge::sync::Message::decode(&[]).err();
        assert!(empty.is_some());
        let data = automerge::Automerge::new()
            .generate_sync_message(&mut automerge::sync::State::new())
            .unwrap()
            .encode();
        assert_eq!(
            connection.receive(&sync_from("peer-a", data)).unwrap_err(),
            ProtocolError::NotJoined
        );
        assert_eq!(
            connection.receive(&join(&["2"])).unwrap_err(),
            ProtocolError::UnsupportedVersion
        );
    }

    #[test]
    fn sync_data_must_decode_and_come_from_the_joined_peer() {
        let mut connection = Connection::new("server", "storage");
        connection.receive(&join(&["1"])).unwrap();
        let data = automerge::Automerge::new()
            .generate_sync_message(&mut automerge::sync::State::new())
            .unwrap()
            .encode();
        assert!(matches!(
            connection
                .receive(&sync_from("peer-a", data.clone()))
                .unwrap(),
            Action::Sync { .. }
        ));
        assert!(matches!(
            connection.receive(&sync_from("peer-b", data)).unwrap_err(),
            ProtocolError::WrongSender(_)
        ));
        assert!(matches!(
            connection
                .receive(&sync_from("peer-a", vec![0x42, 0xff, 0xff]))
                .unwrap_err(),
            ProtocolError::BadSyncData(_)
        ));
    }
}
