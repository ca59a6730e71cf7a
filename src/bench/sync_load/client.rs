//! One virtual client: a WebSocket to `/sync`, its own copy of the document and its sync state
//! with the server, speaking the automerge-repo protocol as the JavaScript client does: `join`,
//! the server's `peer`, a `request` for the document, then `sync` messages. Replies to what the
//! server sent go out at once (one for everything that had arrived); local edits go out at
//! most once per throttle interval, so a burst of edits while a send is pending makes one
//! message.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::edit::{self, Anchor, Edit};
use crate::documents::SyncMessages;
use crate::sync::wire::{self, PeerMetadata, SyncEnvelope, WireMessage, PROTOCOL_VERSION};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the clients of one run share: the edits made so far, in the order they were made, and
/// what the coordinator watches.
#[derive(Default)]
pub struct Shared {
    pub edits: Mutex<Vec<Made>>,
    /// Edits seen by a client other than their writer.
    pub delivered: AtomicU64,
    /// Writers that have made all their edits.
    pub writers_done: AtomicUsize,
    /// Every client's heads, as of its last change.
    pub heads: Mutex<Vec<Vec<ChangeHash>>>,
    /// Clients connected, and the first connection that failed.
    pub connected: AtomicUsize,
    pub failed: Mutex<Option<String>>,
    /// Signalled whenever one of the above moves.
    pub progress: Notify,
    /// The sync messages the clients made, for the others in the same state.
    pub messages: Mutex<SyncMessages>,
}

/// An edit, when it was made, and by which client.
pub struct Made {
    pub hash: ChangeHash,
    pub at: Instant,
    pub by: usize,
}

/// A writer's part: who it writes as, how many edits, how often.
#[derive(Clone, Debug)]
pub struct Writing {
    pub user: String,
    pub edits: usize,
    pub every: Duration,
    pub anchor: Anchor,
    pub edit: Edit,
    /// Makes this writer's keys unique across runs on one server.
    pub prefix: String,
}

impl Writing {
    /// The key of the note a typing writer types into.
    fn note(&self) -> String {
        format!("{}-note", self.prefix)
    }
}

/// What a client saw, handed back when it stops.
#[derive(Default)]
pub struct Outcome {
    /// From each edit being made to this client having it, for edits of other clients.
    pub latencies: Vec<Duration>,
    pub errors: Vec<String>,
    pub heads: Vec<ChangeHash>,
    pub edits_made: usize,
    pub doc: Automerge,
}

pub struct Client {
    index: usize,
    socket: Socket,
    doc: Automerge,
    state: sync::State,
    me: String,
    server: String,
    document_id: String,
    throttle: Duration,
    last_sent: Option<Instant>,
    /// A reply to the server is due (sent at once).
    reply_due: bool,
    /// Local edits not yet offered (sent when the throttle allows).
    local_dirty: bool,
    /// A ping arrived whose pong is still in the socket's buffer.
    pong_due: bool,
    /// How many of the run's edits this client has looked at, and those of other clients it
    /// looked at that have not reached it yet (with when they were made).
    edits_known: usize,
    awaited: Vec<(ChangeHash, Instant)>,
    outcome: Outcome,
}

/// Sync messages after the first are a few hundred bytes: a small read buffer, so that each
/// read does not first zero the default 128 KiB (a twentieth of the generator's CPU).
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024)
}

impl Client {
    /// Connects with `token`, joins, requests the document and syncs until it has arrived.
    pub async fn connect(
        index: usize,
        url: &str,
        token: &str,
        document_id: &str,
        throttle: Duration,
        patience: Duration,
    ) -> anyhow::Result<Self> {
        let url = format!("{url}?token={token}");
        let (socket, _) = tokio::time::timeout(
            patience,
            tokio_tungstenite::connect_async_with_config(url, Some(socket_config()), true),
        )
        .await
        .map_err(|_| anyhow::anyhow!("client {index}: no WebSocket within {patience:?}"))??;
        let me = format!("load-{index}-{}", uuid::Uuid::new_v4().simple());
        let mut client = Self {
            index,
            socket,
            doc: Automerge::new(),
            state: sync::State::new(),
            me,
            server: String::new(),
            document_id: document_id.to_owned(),
            throttle,
            last_sent: None,
            reply_due: false,
            local_dirty: false,
            pong_due: false,
            edits_known: 0,
            awaited: Vec::new(),
            outcome: Outcome::default(),
        };
        client
            .send(WireMessage::Join {
                sender_id: client.me.clone(),
                supported_versions: vec![PROTOCOL_VERSION.into()],
                metadata: Some(PeerMetadata {
                    storage_id: None,
                    is_ephemeral: true,
                }),
            })
            .await?;
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            match client.next_message(deadline).await? {
                WireMessage::Peer { sender_id, .. } => {
                    client.server = sender_id;
                    break;
                }
                WireMessage::Error { message } => anyhow::bail!("client {index}: {message}"),
                _ => {}
            }
        }
        // Like a repo that does not have the document: a `request`, then syncs until it came.
        let first = client
            .doc
            .generate_sync_message(&mut client.state)
            .map(sync::Message::encode)
            .unwrap_or_default();
        let request = WireMessage::Request(client.envelope(first));
        client.send(request).await?;
        while !client.has_document() {
            let message = client.next_message(deadline).await?;
            client.on_message(message, None)?;
            client.flush(None).await?;
        }
        Ok(client)
    }

    fn has_document(&self) -> bool {
        matches!(self.doc.get(automerge::ROOT, "annotations"), Ok(Some(_)))
    }

    fn envelope(&self, data: Vec<u8>) -> SyncEnvelope {
        SyncEnvelope {
            document_id: self.document_id.clone(),
            sender_id: self.me.clone(),
            target_id: self.server.clone(),
            data,
        }
    }

    async fn send(&mut self, message: WireMessage) -> anyhow::Result<()> {
        self.socket
            .send(Message::Binary(wire::encode(&message).into()))
            .await?;
        Ok(())
    }

    /// The next protocol message, skipping pings and the like.
    async fn next_message(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> anyhow::Result<WireMessage> {
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .map_err(|_| anyhow::anyhow!("client {}: the server went quiet", self.index))?;
            let message = self.on_frame(frame)?;
            self.send_pong().await?;
            if let Some(message) = message {
                return Ok(message);
            }
        }
    }

    fn on_frame(
        &mut self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> anyhow::Result<Option<WireMessage>> {
        match frame {
            None => anyhow::bail!("client {}: the server closed the socket", self.index),
            Some(Err(e)) => anyhow::bail!("client {}: {e}", self.index),
            Some(Ok(Message::Binary(bytes))) => Ok(Some(wire::decode(&bytes)?)),
            Some(Ok(Message::Close(reason))) => {
                anyhow::bail!("client {}: the server closed: {reason:?}", self.index)
            }
            // The socket queues the pong itself; it goes out with the next flush.
            Some(Ok(Message::Ping(_))) => {
                self.pong_due = true;
                Ok(None)
            }
            Some(Ok(_)) => Ok(None),
        }
    }

    /// Applies what the server sent; with `shared`, times the edits it brought.
    fn on_message(&mut self, message: WireMessage, shared: Option<&Shared>) -> anyhow::Result<()> {
        self.on_messages(vec![message], shared)
    }

    /// Applies messages that arrived together, the changes of consecutive ones that bring some
    /// in one go: Automerge's apply costs about as much for one change as for a handful (it is
    /// the generator's largest cost), and the client answers once for all of them anyway. The
    /// server's later sync message supersedes its earlier ones (its heads, what it has and
    /// needs), so their changes with the last one's summary is the message it would have sent
    /// had it waited. A message that brings no changes, or resets the sync state, is applied
    /// on its own, in order (see [`applied_alone`]).
    fn on_messages(
        &mut self,
        messages: Vec<WireMessage>,
        shared: Option<&Shared>,
    ) -> anyhow::Result<()> {
        let mut syncs: Vec<sync::Message> = Vec::new();
        for message in messages {
            match message {
                WireMessage::Sync(envelope) | WireMessage::Request(envelope) => {
                    let message = sync::Message::decode(&envelope.data)?;
                    if applied_alone(&message) {
                        self.receive(merged(std::mem::take(&mut syncs)), shared)?;
                        self.receive(Some(message), shared)?;
                    } else {
                        syncs.push(message);
                    }
                }
                WireMessage::Error { message } => self.outcome.errors.push(message),
                WireMessage::DocUnavailable { document_id, .. } => self
                    .outcome
                    .errors
                    .push(format!("the server does not have {document_id}")),
                _ => {}
            }
        }
        self.receive(merged(syncs), shared)
    }

    /// Applies one sync message, if there is one.
    fn receive(
        &mut self,
        message: Option<sync::Message>,
        shared: Option<&Shared>,
    ) -> anyhow::Result<()> {
        let Some(message) = message else {
            return Ok(());
        };
        let before = self.doc.get_heads();
        // What Automerge's `receive_sync_message` does, without walking the history for an
        // acknowledgement: the server does the same.
        crate::documents::receive_sync_message(&mut self.doc, &mut self.state, message)?;
        self.reply_due = true;
        if let Some(shared) = shared {
            self.note_arrivals(&before, shared);
        }
        Ok(())
    }

    /// Times the other writers' edits that arrived since `before`: those made since this client
    /// last looked join the ones it awaits, and each it now holds is timed. A handful of hash
    /// lookups, where listing the new changes would decode their metadata.
    fn note_arrivals(&mut self, before: &[ChangeHash], shared: &Shared) {
        let heads = self.doc.get_heads();
        if heads == before {
            return;
        }
        let now = Instant::now();
        {
            let edits = shared.edits.lock().unwrap();
            let others = edits[self.edits_known..]
                .iter()
                .filter(|m| m.by != self.index);
            self.awaited.extend(others.map(|m| (m.hash, m.at)));
            self.edits_known = edits.len();
        }
        let hashes: Vec<ChangeHash> = self.awaited.iter().map(|(hash, _)| *hash).collect();
        let mut held = crate::documents::holds_changes(&self.doc, &hashes).into_iter();
        let latencies = &mut self.outcome.latencies;
        let mut seen = 0u64;
        self.awaited.retain(|(_, made)| {
            let arrived = held.next().unwrap_or(false);
            if arrived {
                latencies.push(now - *made);
                seen += 1;
            }
            !arrived
        });
        shared.heads.lock().unwrap()[self.index] = heads;
        if seen > 0 {
            shared.delivered.fetch_add(seen, Ordering::Relaxed);
        }
        shared.progress.notify_waiters();
    }

    /// Flushes a pong the socket has queued.
    async fn send_pong(&mut self) -> anyhow::Result<()> {
        if std::mem::take(&mut self.pong_due) {
            self.socket.flush().await?;
        }
        Ok(())
    }

    /// Sends the server what it lacks, if anything: the message this client's Automerge makes,
    /// made once for the clients of the run in the same state at the same heads.
    async fn flush(&mut self, shared: Option<&Shared>) -> anyhow::Result<()> {
        self.reply_due = false;
        self.local_dirty = false;
        let message = match shared {
            Some(shared) => shared
                .messages
                .lock()
                .unwrap()
                .generate(&self.doc, &mut self.state),
            None => self
                .doc
                .generate_sync_message(&mut self.state)
                .map(sync::Message::encode),
        };
        if let Some(message) = message {
            let sync = WireMessage::Sync(self.envelope(message));
            self.send(sync).await?;
            self.last_sent = Some(Instant::now());
        }
        Ok(())
    }

    /// When the throttle lets local edits go.
    fn next_send(&self) -> tokio::time::Instant {
        match self.last_sent {
            Some(at) => (at + self.throttle).into(),
            None => tokio::time::Instant::now(),
        }
    }

    /// Runs until `stop`: applies what arrives, answers it, and, once `go` is given, makes this
    /// client's edits if it writes. Hands back what it saw and its document.
    pub async fn run(
        mut self,
        writing: Option<Writing>,
        shared: Arc<Shared>,
        mut go: watch::Receiver<bool>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Outcome> {
        let mut going = *go.borrow_and_update();
        if let Some(w) = writing.as_ref().filter(|w| w.edit == Edit::Typing) {
            // The note to type into, before the run starts (the coordinator waits for every
            // client to have it).
            let at = crate::clock::timestamp(chrono::Utc::now());
            if edit::add_comment(&mut self.doc, &w.note(), &w.user, &at, &w.anchor)?.is_none() {
                anyhow::bail!("client {}: the document has no annotations map", self.index);
            }
            self.local_dirty = true;
        }
        shared.heads.lock().unwrap()[self.index] = self.doc.get_heads();
        let every = writing
            .as_ref()
            .map_or(Duration::from_secs(3600), |w| w.every);
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let to_make = writing.as_ref().map_or(0, |w| w.edits);
        loop {
            let writes = going && self.outcome.edits_made < to_make;
            let send_at = self.next_send();
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                _ = go.changed(), if !going => {
                    going = true;
                    ticks.reset_immediately();
                }
                frame = self.socket.next() => {
                    // Everything that has already arrived, applied together and answered once.
                    let mut arrived: Vec<WireMessage> = self.on_frame(frame)?.into_iter().collect();
                    while let Some(frame) = self.socket.next().now_or_never() {
                        arrived.extend(self.on_frame(frame)?);
                    }
                    self.on_messages(arrived, Some(&shared))?;
                }
                _ = ticks.tick(), if writes => {
                    self.edit(writing.as_ref().expect("a writer"), &shared)?;
                }
                _ = tokio::time::sleep_until(send_at), if self.local_dirty => {
                    self.flush(Some(&shared)).await?;
                }
            }
            self.send_pong().await?;
            if self.reply_due
                || (self.local_dirty && tokio::time::Instant::now() >= self.next_send())
            {
                self.flush(Some(&shared)).await?;
            }
        }
        let _ = self
            .send(WireMessage::Leave {
                sender_id: self.me.clone(),
            })
            .await;
        let _ = self.socket.close(None).await;
        self.outcome.heads = self.doc.get_heads();
        self.outcome.doc = self.doc;
        Ok(self.outcome)
    }

    /// One new annotation, registered with the run before it is offered to the server.
    fn edit(&mut self, writing: &Writing, shared: &Shared) -> anyhow::Result<()> {
        let made = self.outcome.edits_made;
        let hash = match writing.edit {
            Edit::Comment => {
                let key = format!("{}-{made}", writing.prefix);
                let at = crate::clock::timestamp(chrono::Utc::now());
                edit::add_comment(&mut self.doc, &key, &writing.user, &at, &writing.anchor)?
            }
            Edit::Typing => edit::type_into(&mut self.doc, &writing.note(), &format!(" w{made}"))?,
        };
        let Some(hash) = hash else {
            anyhow::bail!("client {}: nothing to write into", self.index);
        };
        shared.edits.lock().unwrap().push(Made {
            hash,
            at: Instant::now(),
            by: self.index,
        });
        self.outcome.edits_made += 1;
        self.local_dirty = true;
        shared.heads.lock().unwrap()[self.index] = self.doc.get_heads();
        if self.outcome.edits_made == writing.edits {
            shared.writers_done.fetch_add(1, Ordering::Relaxed);
        }
        shared.progress.notify_waiters();
        Ok(())
    }
}

/// Whether a sync message is applied on its own, in order, rather than merged with its
/// neighbours: one that resets the sync state, and one that brings no changes. Merging the
/// latter saves no apply, and on its own it can tell the client that the server holds all the
/// client has (its heads become the last ones the client sent, and no reply is due), which its
/// summary taken over by a merged message with changes would not.
fn applied_alone(message: &sync::Message) -> bool {
    resets(message) || message.changes.is_empty()
}

/// Whether a sync message tells the receiver to start its sync state afresh: the flag, or no
/// heads (what a peer with an empty document, or one starting over, sends).
fn resets(message: &sync::Message) -> bool {
    message.heads.is_empty()
        || message
            .flags
            .is_some_and(|flags| flags.contains(sync::MessageFlags::SYNC_RESET))
}

/// One sync message for several from the server that each bring changes, in the order they
/// came: the last one's summary (heads, need, have, flags) with every one's changes.
fn merged(mut messages: Vec<sync::Message>) -> Option<sync::Message> {
    let last = messages.pop()?;
    if messages.is_empty() {
        return Some(last);
    }
    let changes: Vec<Vec<u8>> = messages
        .iter()
        .chain([&last])
        .flat_map(|message| message.changes.iter().map(<[u8]>::to_vec))
        .collect();
    Some(sync::Message {
        changes: changes.into(),
        ..last
    })
}

#[cfg(test)]
mod tests {
    use automerge::sync::{self, SyncDoc};
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ReadDoc, ROOT};

    use super::{applied_alone, merged, resets};
    use crate::documents::testing::sync_until_quiet;

    /// Given a server that sent three messages, each with a new change, and then one with none
    /// (its answer to a reply of the client's that crossed them), before the client answered
    /// any, when the client applies them as it does (the three merged into one, the last on its
    /// own), then its document and sync state are those applying them one by one gives, and it
    /// answers (or not) as it would then.
    #[test]
    fn messages_that_arrived_together_applied_at_once_hold_what_one_by_one_would() {
        let mut server = Automerge::new();
        let mut one_by_one = Automerge::new();
        let (mut to_first, mut first) = (sync::State::new(), sync::State::new());
        sync_until_quiet(&mut server, &mut to_first, &mut one_by_one, &mut first);
        let mut at_once = one_by_one.clone();
        let (mut to_second, mut second) = (to_first.clone(), first.clone());
        let mut sent = (Vec::new(), Vec::new());
        for i in 0..3 {
            let mut tx = server.transaction();
            tx.put(ROOT, format!("key-{i}"), i).unwrap();
            tx.commit();
            sent.0
                .push(server.generate_sync_message(&mut to_first).unwrap());
            sent.1
                .push(server.generate_sync_message(&mut to_second).unwrap());
        }
        // The server's heads, with nothing new.
        let quiet = |last: &sync::Message| sync::Message {
            changes: Vec::<Vec<u8>>::new().into(),
            ..last.clone()
        };
        let (quiet_first, quiet_second) = (quiet(&sent.0[2]), quiet(&sent.1[2]));
        sent.0.push(quiet_first);
        sent.1.push(quiet_second);
        for message in sent.0 {
            crate::documents::receive_sync_message(&mut one_by_one, &mut first, message).unwrap();
        }
        let last = sent.1.pop().unwrap();
        assert!(applied_alone(&last));
        assert!(sent.1.iter().all(|m| !applied_alone(m)));
        let message = merged(sent.1).expect("one message");
        assert_eq!(message.changes.len(), 3);
        crate::documents::receive_sync_message(&mut at_once, &mut second, message).unwrap();
        crate::documents::receive_sync_message(&mut at_once, &mut second, last).unwrap();
        assert_eq!(second, first);
        assert_eq!(
            at_once.generate_sync_message(&mut second.clone()).is_some(),
            one_by_one
                .generate_sync_message(&mut first.clone())
                .is_some()
        );
        assert_eq!(at_once.get_heads(), one_by_one.get_heads());
        assert_eq!(at_once.get_heads(), server.get_heads());
        assert_eq!(
            at_once.get(ROOT, "key-2").unwrap().unwrap().0.as_i64(),
            Some(2)
        );
        // The quiet message is made up (the server's own state never sent it), so the two are
        // only checked to settle, level.
        sync_until_quiet(&mut server, &mut to_second, &mut at_once, &mut second);
        assert_eq!(at_once.get_heads(), server.get_heads());
        assert!(merged(Vec::new()).is_none());
    }

    /// A message that resets the sync state is told apart (the client applies it on its own):
    /// by its flag, or by having no heads.
    #[test]
    fn a_reset_is_told_apart() {
        let mut doc = Automerge::new();
        let empty = doc.generate_sync_message(&mut sync::State::new()).unwrap();
        assert!(resets(&empty));
        let mut tx = doc.transaction();
        tx.put(ROOT, "key", 1).unwrap();
        tx.commit();
        let plain = doc.generate_sync_message(&mut sync::State::new()).unwrap();
        assert!(!resets(&plain));
        let mut flags = sync::MessageFlags::new();
        flags.set(sync::MessageFlags::SYNC_RESET);
        let reset = sync::Message {
            flags: Some(flags),
            ..plain
        };
        assert!(resets(&reset));
    }
}
