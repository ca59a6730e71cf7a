//! The desk's webhook subscriptions, live: admins' changes are appended to the
//! `webhook-subscriptions` stream (durable before anyone is told) and folded; with a shared log,
//! what other processes append is folded too. Every change bumps a watch the deliverer follows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::json;
use tokio::sync::watch;

use crate::documents::own_events;
use crate::domain::idempotency::Receipt;
use crate::domain::{StreamId, UserName};
use crate::store::{AppendRequest, Deliveries, EventLog, EventRecord, Expected, StoreError};

use super::signing;
use super::subscriptions::{Registry, Subscription, SubscriptionId, WebhookEvent, Written};

/// What a subscription change can fail with; `http` maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// 404
    #[error("there is no webhook subscription {0}")]
    Unknown(SubscriptionId),
    /// 422: a value breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// 5xx (409 for a race between two admins).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A subscription an admin asks for, unchecked.
#[derive(Clone, Debug, Default)]
pub struct NewSubscription {
    pub url: String,
    pub types: Vec<String>,
    pub articles: Vec<String>,
    pub description: Option<String>,
}

/// The desk's subscriptions; cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    registry: RwLock<Registry>,
    log: EventLog,
    deliveries: Deliveries,
    /// The stream version folded.
    folded: AtomicU64,
    /// Where in the log the last event folded is: an append reads the stream after it.
    folded_seq: AtomicU64,
    /// Bumped after every change is folded.
    changes: watch::Sender<u64>,
    /// One change at a time: checks and appends never interleave.
    writes: tokio::sync::Mutex<()>,
}

impl Webhooks {
    /// Folds the webhook events of `log`.
    pub fn open(log: &EventLog, deliveries: Deliveries) -> Result<Self, StoreError> {
        let mut registry = Registry::default();
        let (mut folded, mut folded_seq) = (0, 0);
        for record in log.read_stream(&StreamId::Webhooks, 0)? {
            if let Some(event) = webhook_event(&record) {
                registry.apply(&event, &written(&record));
            }
            (folded, folded_seq) = (record.version, record.seq);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                registry: RwLock::new(registry),
                log: log.clone(),
                deliveries,
                folded: folded.into(),
                folded_seq: folded_seq.into(),
                changes: watch::channel(0).0,
                writes: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Folds the webhook events among `records` not folded yet (those other processes append
    /// to a shared log).
    pub fn fold_appended(&self, records: &[EventRecord]) {
        let mut changed = false;
        {
            let mut registry = self.inner.registry.write().expect("registry lock");
            for record in records.iter().filter(|r| r.stream == StreamId::Webhooks) {
                if record.version <= self.inner.folded.load(Ordering::Acquire) {
                    continue;
                }
                if let Some(event) = webhook_event(record) {
                    registry.apply(&event, &written(record));
                    changed = true;
                }
                self.inner.folded.store(record.version, Ordering::Release);
                self.inner.folded_seq.store(record.seq, Ordering::Release);
            }
        }
        if changed {
            self.inner.changes.send_modify(|n| *n += 1);
        }
    }

    /// Changes as they are folded.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    pub fn log(&self) -> &EventLog {
        &self.inner.log
    }

    pub fn deliveries(&self) -> &Deliveries {
        &self.inner.deliveries
    }

    pub fn all(&self) -> Vec<Subscription> {
        self.inner.registry.read().expect("registry lock").all()
    }

    pub fn get(&self, id: &SubscriptionId) -> Result<Subscription, WebhookError> {
        self.inner
            .registry
            .read()
            .expect("registry lock")
            .get(id)
            .cloned()
            .ok_or(WebhookError::Unknown(*id))
    }

    /// Subscribes; answers the subscription, whose secret is shown this once.
    pub async fn subscribe(
        &self,
        actor: &UserName,
        new: NewSubscription,
        receipt: Option<Receipt>,
    ) -> Result<Subscription, WebhookError> {
        let checked = super::subscriptions::check_new(
            &new.url,
            &new.types,
            &new.articles,
            new.description.as_deref(),
        )
        .map_err(WebhookError::Invalid)?;
        let id = uuid::Uuid::new_v4();
        let event = WebhookEvent::Subscribed {
            id,
            url: checked.url,
            types: checked.types,
            articles: checked.articles,
            description: checked.description,
            secret: signing::new_secret(),
        };
        let _write = self.inner.writes.lock().await;
        self.append(actor, vec![event], receipt).await?;
        self.get(&id)
    }

    /// Pauses a subscription (an admin, or the deliverer after its last attempt).
    pub async fn pause(
        &self,
        actor: &UserName,
        id: SubscriptionId,
        reason: String,
        seq: Option<u64>,
    ) -> Result<Subscription, WebhookError> {
        let _write = self.inner.writes.lock().await;
        if self.get(&id)?.is_active() {
            let event = WebhookEvent::Paused { id, reason, seq };
            self.append(actor, vec![event], None).await?;
        }
        self.get(&id)
    }

    /// Resumes a paused subscription: delivery goes on from its cursor.
    pub async fn resume(
        &self,
        actor: &UserName,
        id: SubscriptionId,
    ) -> Result<Subscription, WebhookError> {
        let _write = self.inner.writes.lock().await;
        let subscription = self.get(&id)?;
        if subscription.secret.is_empty() {
            return Err(WebhookError::Invalid(format!(
                "subscription {id} came from a dump without its signing secret, so nothing it \
                 sends could be verified; delete it and subscribe again"
            )));
        }
        if !subscription.is_active() {
            self.append(actor, vec![WebhookEvent::Resumed { id }], None)
                .await?;
        }
        self.get(&id)
    }

    /// Ends a subscription: nothing more is delivered.
    pub async fn unsubscribe(
        &self,
        actor: &UserName,
        id: SubscriptionId,
    ) -> Result<(), WebhookError> {
        let _write = self.inner.writes.lock().await;
        self.get(&id)?;
        self.append(actor, vec![WebhookEvent::Unsubscribed { id }], None)
            .await
    }

    /// The subscription a keyed request created, from where its receipt is in the log: the
    /// receipt comes last in that append, so the event is the one just before it.
    pub fn written_with(&self, receipt_seq: u64) -> Result<Option<SubscriptionId>, StoreError> {
        let before = match receipt_seq.checked_sub(1) {
            Some(seq) => self.inner.log.get(seq)?,
            None => None,
        };
        Ok(before
            .as_ref()
            .and_then(webhook_event)
            .map(|event| event.subscription()))
    }

    /// Appends, with the receipt of a keyed request last, and folds once durable. The caller
    /// holds the write lock.
    async fn append(
        &self,
        actor: &UserName,
        events: Vec<WebhookEvent>,
        receipt: Option<Receipt>,
    ) -> Result<(), WebhookError> {
        let stream = StreamId::Webhooks;
        let at = crate::clock::now();
        let new_events = own_events(&stream, actor, at, &events, receipt.as_ref());
        let version = self.inner.log.stream_version(&stream)?;
        self.inner
            .log
            .append(AppendRequest {
                events: new_events,
                expectations: vec![(stream.clone(), Expected::Exact(version))],
            })
            .await?;
        // Folds from the log, in order: these events, and any another process appended just
        // before them that the follower has not handed over yet (folding only ours would
        // mark those as folded without applying them).
        let after = self.inner.folded_seq.load(Ordering::Acquire);
        let records = self.inner.log.read_stream(&stream, after)?;
        self.fold_appended(&records);
        Ok(())
    }
}

fn written(record: &EventRecord) -> Written {
    Written {
        seq: record.seq,
        at: record.at,
        actor: record.actor.clone(),
    }
}

/// The webhook event a record holds, if it is one this build knows.
pub fn webhook_event(record: &EventRecord) -> Option<WebhookEvent> {
    if record.stream != StreamId::Webhooks {
        return None;
    }
    serde_json::from_value(json!({ "type": record.event_type, "data": record.data })).ok()
}
