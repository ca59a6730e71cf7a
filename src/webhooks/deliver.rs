//! The deliverer: one task per active subscription, each sending the events its filter keeps,
//! one at a time in log order, from the subscription's cursor.
//!
//! - A task first claims its subscription (`store::Deliveries::claim`): with several replicas on
//!   one database only the lease holder delivers; the others try again now and then, and take
//!   over when a holder stops renewing (it died).
//! - Each event is POSTed with the Standard Webhooks headers, and retried with exponential
//!   backoff and jitter until the receiver answers 2xx; the cursor moves only then. After
//!   `attempts` failures the subscription is paused (a `webhook.paused` event) at that event,
//!   and an admin's resume starts again from it.
//! - Nothing here is on a write's path: the tasks read the log behind its durable head, so a
//!   slow or failing receiver holds up only its own subscription.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use crate::domain::{EventType, UserName};
use crate::store::{Attempt, EventRecord, StoreError};

use super::service::Webhooks;
use super::signing;
use super::subscriptions::{Subscription, SubscriptionId};

/// How deliveries are timed.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// How long a receiver may take to answer.
    pub timeout: Duration,
    /// The wait before the second attempt; each later one waits `growth` times longer, up to
    /// `longest`, less up to half of it at random (jitter).
    pub first_retry: Duration,
    pub growth: u32,
    pub longest: Duration,
    /// Attempts at one event before the subscription is paused.
    pub attempts: u32,
    /// How long a claim on a subscription lasts without being renewed.
    pub lease: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(5),
            growth: 4,
            longest: Duration::from_secs(3600),
            attempts: 8,
            lease: Duration::from_secs(30),
        }
    }
}

impl Policy {
    /// The wait after failed attempt `n` (1-based), with jitter.
    fn backoff(&self, n: u32) -> Duration {
        let full = self
            .first_retry
            .saturating_mul(self.growth.saturating_pow(n.saturating_sub(1)))
            .min(self.longest);
        let jitter = (Uuid::new_v4().as_u128() % 1000) as u32;
        full / 2 + full / 2 * jitter / 1000
    }
}

/// Events read from the log per step.
const STEP: usize = 256;

/// Starts the deliverer; it stops when the log closes.
pub fn start(webhooks: Webhooks, policy: Policy) {
    tokio::spawn(supervise(webhooks, policy));
}

/// A worker the supervisor started: what it delivers, how to stop it, and its task.
struct Running {
    subscription: Subscription,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Keeps one task running for each active subscription, and none for the others. A worker
/// told to stop may still be finishing a POST: the one that replaces it (after a pause and a
/// resume, say) starts only once it has ended, so one subscription never has two.
async fn supervise(webhooks: Webhooks, policy: Policy) {
    let client = match reqwest::Client::builder()
        .timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Glossa-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhooks cannot be delivered: no HTTP client");
            return;
        }
    };
    let mut changes = webhooks.changes();
    let mut running: HashMap<SubscriptionId, Running> = HashMap::new();
    let mut stopping: HashMap<SubscriptionId, tokio::task::JoinHandle<()>> = HashMap::new();
    loop {
        let active: HashMap<SubscriptionId, Subscription> = webhooks
            .all()
            .into_iter()
            .filter(Subscription::is_active)
            .map(|s| (s.id, s))
            .collect();
        stopping.retain(|_, task| !task.is_finished());
        let ended: Vec<SubscriptionId> = running
            .iter()
            .filter(|(id, r)| active.get(id) != Some(&r.subscription) || r.task.is_finished())
            .map(|(id, _)| *id)
            .collect();
        for id in ended {
            if let Some(r) = running.remove(&id) {
                let _ = r.stop.send(true);
                stopping.insert(id, r.task);
            }
        }
        for (id, subscription) in active {
            if running.contains_key(&id) {
                continue;
            }
            let (stop, stopped) = watch::channel(false);
            let worker = Worker {
                webhooks: webhooks.clone(),
                client: client.clone(),
                policy,
                holder: Uuid::new_v4(),
                subscription: subscription.clone(),
                stopped,
            };
            let previous = stopping.remove(&id);
            let task = tokio::spawn(async move {
                if let Some(previous) = previous {
                    let _ = previous.await;
                }
                worker.run().await;
            });
            running.insert(
                id,
                Running {
                    subscription,
                    stop,
                    task,
                },
            );
        }
        if webhooks.log().is_closed() {
            for (_, r) in running {
                let _ = r.stop.send(true);
            }
            return;
        }
        // Changes restart what they touched; the timer notices a closed log.
        let _ = tokio::time::timeout(policy.lease, changes.changed()).await;
    }
}

struct Worker {
    webhooks: Webhooks,
    client: reqwest::Client,
    policy: Policy,
    holder: Uuid,
    subscription: Subscription,
    stopped: watch::Receiver<bool>,
}

/// Why a worker's delivery loop ended.
enum Ended {
    /// Told to stop (paused, unsubscribed, changed, closing).
    Stopped,
    /// Another process holds the subscription now.
    LostLease,
}

impl Worker {
    async fn run(mut self) {
        let id = self.subscription.id;
        let deliveries = self.webhooks.deliveries().clone();
        loop {
            if *self.stopped.borrow() || self.webhooks.log().is_closed() {
                break;
            }
            let claimed = deliveries
                .claim(id, self.holder, self.subscription.since, self.policy.lease)
                .await;
            match claimed {
                Ok(Some(cursor)) => match self.deliver_from(cursor).await {
                    Ok(Ended::Stopped) => break,
                    Ok(Ended::LostLease) => {}
                    Err(error) => {
                        tracing::warn!(subscription = %id, %error, "webhook delivery interrupted");
                    }
                },
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(subscription = %id, %error, "cannot claim a webhook subscription");
                }
            }
            // Held elsewhere, or the store failed: look again in a while.
            if self.wait(self.policy.lease / 3).await {
                break;
            }
        }
        let _ = deliveries.release(id, self.holder).await;
    }

    /// Waits `how_long`; `true` if told to stop meanwhile.
    async fn wait(&mut self, how_long: Duration) -> bool {
        if *self.stopped.borrow() {
            return true;
        }
        tokio::time::timeout(how_long, self.stopped.changed())
            .await
            .is_ok()
    }

    /// Renews the lease at `cursor`; `false` if it was lost.
    async fn renew(&self, cursor: u64) -> Result<bool, StoreError> {
        self.webhooks
            .deliveries()
            .advance(self.subscription.id, self.holder, cursor, self.policy.lease)
            .await
    }

    /// Delivers from `persisted`, the cursor as stored. The events the filter skips move only
    /// the reading position: the stored cursor moves (and reaches the disk) after a 2xx, so
    /// a subscription that skips most events costs no write per event.
    async fn deliver_from(&mut self, persisted: u64) -> Result<Ended, StoreError> {
        let (mut persisted, mut cursor) = (persisted, persisted);
        let log = self.webhooks.log().clone();
        let mut head = log.watch_head();
        let mut renewed = Instant::now();
        loop {
            if *self.stopped.borrow() {
                return Ok(Ended::Stopped);
            }
            let (reading, after) = (log.clone(), cursor);
            let records = tokio::task::spawn_blocking(move || reading.read_after(after, STEP))
                .await
                .map_err(|_| StoreError::Unavailable)??;
            if records.is_empty() {
                let wait = self.policy.lease / 3;
                tokio::select! {
                    changed = head.changed() => {
                        if changed.is_err() { return Ok(Ended::Stopped); }
                    }
                    _ = self.stopped.changed() => return Ok(Ended::Stopped),
                    _ = tokio::time::sleep(wait.saturating_sub(renewed.elapsed())) => {}
                }
                if renewed.elapsed() >= wait {
                    if !self.renew(persisted).await? {
                        return Ok(Ended::LostLease);
                    }
                    renewed = Instant::now();
                }
                continue;
            }
            for record in records {
                // A pause or an unsubscription stops delivery at once, not after the batch.
                if *self.stopped.borrow() {
                    return Ok(Ended::Stopped);
                }
                cursor = record.seq;
                if !self.wants(&record) {
                    continue;
                }
                match self.deliver(&record, persisted).await? {
                    Delivered::Yes => {
                        persisted = record.seq;
                        if !self.renew(persisted).await? {
                            return Ok(Ended::LostLease);
                        }
                        renewed = Instant::now();
                    }
                    Delivered::Stopped => return Ok(Ended::Stopped),
                    Delivered::LostLease => return Ok(Ended::LostLease),
                }
            }
        }
    }

    /// Whether the subscription delivers this event: domain events only (never the desk's
    /// users, tokens or subscriptions, nor the receipts of keyed requests), by type and
    /// article.
    fn wants(&self, record: &EventRecord) -> bool {
        EventType::parse(&record.event_type).is_some_and(|t| t != EventType::RequestRecorded)
            && self.subscription.wants(
                &record.event_type,
                crate::feed::article_of(record).as_deref(),
            )
    }

    /// Tries until the receiver takes the event, the attempts run out (then pauses), or the
    /// worker is stopped. `cursor` is renewed while it waits between attempts.
    async fn deliver(
        &mut self,
        record: &EventRecord,
        cursor: u64,
    ) -> Result<Delivered, StoreError> {
        let body = serde_json::to_vec(&json!({
            "type": record.event_type,
            "timestamp": crate::clock::timestamp(record.at),
            "data": crate::feed::event_json(record, false),
        }))
        .expect("events serialise");
        let message_id = format!("msg_{}", record.id.0.simple());
        let id = self.subscription.id;
        for n in 1..=self.policy.attempts {
            if *self.stopped.borrow() {
                return Ok(Delivered::Stopped);
            }
            let attempt = self.attempt(record, &message_id, &body, n).await;
            let succeeded = attempt.succeeded();
            if let Err(error) = self.webhooks.deliveries().record(id, &attempt).await {
                tracing::warn!(subscription = %id, %error, "cannot record a webhook attempt");
            }
            if succeeded {
                return Ok(Delivered::Yes);
            }
            tracing::info!(
                subscription = %id, seq = record.seq, attempt = n,
                status = ?attempt.status, error = ?attempt.error,
                "webhook delivery failed"
            );
            if n == self.policy.attempts {
                break;
            }
            // Wait, renewing the lease so no other process takes over meanwhile.
            let until = Instant::now() + self.policy.backoff(n);
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                if self.wait(left.min(self.policy.lease / 3)).await {
                    return Ok(Delivered::Stopped);
                }
                if !self.renew(cursor).await? {
                    return Ok(Delivered::LostLease);
                }
            }
        }
        let reason = format!(
            "event {} ({}) was not delivered after {} attempts",
            record.seq, record.event_type, self.policy.attempts
        );
        match self
            .webhooks
            .pause(&UserName::system(), id, reason, Some(record.seq))
            .await
        {
            Ok(_) => Ok(Delivered::Stopped),
            Err(super::service::WebhookError::Store(error)) => Err(error),
            Err(_) => Ok(Delivered::Stopped),
        }
    }

    async fn attempt(
        &self,
        record: &EventRecord,
        message_id: &str,
        body: &[u8],
        n: u32,
    ) -> Attempt {
        let at = crate::clock::now();
        let timestamp = at.timestamp();
        let signature = signing::sign(&self.subscription.secret, message_id, timestamp, body);
        let started = Instant::now();
        let sent = self
            .client
            .post(&self.subscription.url)
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send()
            .await;
        let (status, error) = match sent {
            Ok(response) => {
                let status = response.status();
                let error =
                    (!status.is_success()).then(|| format!("the receiver answered {status}"));
                (Some(status.as_u16()), error)
            }
            Err(error) if error.is_timeout() => (
                None,
                Some(format!(
                    "no answer within {} s",
                    self.policy.timeout.as_secs_f32()
                )),
            ),
            Err(error) => (None, Some(describe(&error))),
        };
        Attempt {
            seq: record.seq,
            event_id: record.id.0,
            event_type: record.event_type.clone(),
            attempt: n,
            at,
            status,
            error,
            millis: started.elapsed().as_millis().min(u32::MAX as u128) as u32,
        }
    }
}

enum Delivered {
    Yes,
    Stopped,
    LostLease,
}

/// A transport error with its causes, for the delivery log.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
