//! Requests with an idempotency key: carried out once, answered again on a retry.
//!
//! [`Desk::begin_request`] looks the key up (by the receipt id derived from the user and the
//! key) and either finds what the request wrote before, or hands out a desk scoped to the
//! request. That desk logs the request's [`Receipt`] with its first durable append (an
//! annotation edit, an article, a claim, a placement; a user or a token, which `identity`
//! appends with the receipt it is handed), in the same atomic write: the receipt
//! exists exactly when the write does, after a crash as after a restart. A request that
//! writes nothing (refused, or a no-op) leaves no receipt, and its retry is carried out anew.
//!
//! Two requests with one key at the same moment would both find no receipt; the second is
//! refused (409) while the first holds the key. The hold is in memory: one server owns a data
//! directory.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::domain::idempotency::{Fingerprint, IdempotencyKey, Receipt};
use crate::domain::{DomainEvent, EventId, StreamId, UserName};

use super::{Desk, DeskError};

/// Keys of requests being carried out now.
#[derive(Clone, Default)]
pub(super) struct InFlight(Arc<Mutex<HashSet<EventId>>>);

/// A key held by a request until it is answered.
struct Hold {
    in_flight: InFlight,
    id: EventId,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.in_flight
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// The request a scoped desk works for.
pub(super) struct Keyed {
    receipt: Receipt,
    /// Set once the receipt is in the log: later appends of the same request do not repeat it.
    logged: AtomicBool,
    _hold: Hold,
}

/// What a key says about a request.
// Made once per request and matched at once: boxing the desk would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Begun {
    /// Not seen before: carry the request out through this desk, which logs its receipt with
    /// the first write and holds the key until it is dropped.
    Fresh(Desk),
    /// The same request wrote before: answer about what it wrote, and write nothing.
    Done(Recorded),
}

/// What a keyed request wrote, from its receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The stream its first write was about (`annotation-<id>` for a new annotation).
    pub subject: StreamId,
    /// Where its receipt is in the log.
    pub seq: u64,
}

impl Desk {
    /// Looks up `key` for `user`: a request seen before with the same fingerprint is
    /// [`Begun::Done`]; with another fingerprint it is refused (422) and nothing is written;
    /// while a request with the key is being carried out, another is refused (409).
    pub async fn begin_request(
        &self,
        user: &UserName,
        key: &IdempotencyKey,
        fingerprint: Fingerprint,
    ) -> Result<Begun, DeskError> {
        let id = key.receipt_id(user);
        let hold = self.hold(id)?;
        let Some(record) = self.store.log.by_id(id)? else {
            return Ok(Begun::Fresh(Desk {
                request: Some(Arc::new(Keyed {
                    receipt: Receipt { id, fingerprint },
                    logged: AtomicBool::new(false),
                    _hold: hold,
                })),
                ..self.clone()
            }));
        };
        let corrupt =
            |why: String| DeskError::internal(format!("receipt {id} at {}: {why}", record.seq));
        let DomainEvent::RequestRecorded {
            method,
            path,
            body_sha256,
            subject,
        } = DomainEvent::from_parts(&record.event_type, &record.data)
            .map_err(|e| corrupt(e.to_string()))?
        else {
            return Err(corrupt(format!("a {} event", record.event_type)));
        };
        let original = Fingerprint {
            method,
            path,
            body_sha256,
        };
        if let Some(difference) = fingerprint.difference(&original) {
            return Err(DeskError::KeyReused(format!(
                "Idempotency-Key {:?} belongs to another request: {difference}; send a new key with each new request",
                key.as_str()
            )));
        }
        let subject = StreamId::parse(&subject).map_err(|e| corrupt(e.to_string()))?;
        // The answer is rendered from the read models: let them show the original write.
        self.store.read_model.wait_for(record.seq).await?;
        Ok(Begun::Done(Recorded {
            subject,
            seq: record.seq,
        }))
    }

    fn hold(&self, id: EventId) -> Result<Hold, DeskError> {
        let fresh = self
            .in_flight
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id);
        if !fresh {
            return Err(DeskError::Conflict(
                "a request with this Idempotency-Key is still being carried out; wait for its answer, or retry in a moment".into(),
            ));
        }
        Ok(Hold {
            in_flight: self.in_flight.clone(),
            id,
        })
    }

    /// The receipt to log with this desk's next append: only on a desk scoped to a keyed
    /// request, and only until it is logged. Writes outside the desk (users and tokens) take it
    /// from here into their own append, while this desk holds the key.
    pub fn receipt(&self) -> Option<Receipt> {
        self.request
            .as_ref()
            .filter(|keyed| !keyed.logged.load(Ordering::Acquire))
            .map(|keyed| keyed.receipt.clone())
    }

    /// Notes that an append that carried the receipt succeeded (or wrote nothing at all, which
    /// ends the request just as well).
    pub(super) fn receipt_logged(&self) {
        if let Some(keyed) = &self.request {
            keyed.logged.store(true, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ContentLimits;
    use crate::store::Store;

    #[tokio::test]
    async fn a_key_in_flight_is_refused_until_its_request_is_answered() {
        let dir = tempfile::tempdir().unwrap();
        let desk = Desk::new(Store::open(dir.path()).unwrap(), ContentLimits::default());
        let alice = UserName::parse("alice").unwrap();
        let key = IdempotencyKey::parse("k").unwrap();
        let fingerprint = || Fingerprint::new("POST", "/annotations/", b"{}");

        let Begun::Fresh(running) = desk
            .begin_request(&alice, &key, fingerprint())
            .await
            .unwrap()
        else {
            panic!("a new key is fresh");
        };
        assert!(running.receipt().is_some());
        // The same key while the first request runs: 409, whatever the body.
        let second = desk.begin_request(&alice, &key, fingerprint()).await;
        assert!(
            matches!(&second, Err(DeskError::Conflict(m)) if m.contains("still being carried out")),
            "{:?}",
            second.err()
        );
        // Someone else's key of the same spelling is not held.
        let bruno = UserName::parse("bruno").unwrap();
        assert!(matches!(
            desk.begin_request(&bruno, &key, fingerprint()).await,
            Ok(Begun::Fresh(_))
        ));
        // Answered without writing (refused, say): the key is free again.
        drop(running);
        assert!(matches!(
            desk.begin_request(&alice, &key, fingerprint()).await,
            Ok(Begun::Fresh(_))
        ));
    }
}
