//! Webhook subscriptions as a fold of the events on the `webhooks` stream.
//!
//! Subscribing, pausing (by an admin, or by the deliverer after its attempts ran out), resuming
//! and unsubscribing are events, so every copy of the log (a restart, a restored dump, another
//! replica) folds to the same subscriptions. Pure: events come in with their positions and
//! times; nothing here reads a clock, a disk or the network.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{ArticleId, EventType, UserName};

/// A subscription's id.
pub type SubscriptionId = uuid::Uuid;

/// A change to the desk's webhook subscriptions. The signing secret is in `subscribed` (the
/// deliverer needs it to sign); it never leaves the server in the feed (see `public_data`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum WebhookEvent {
    #[serde(rename = "webhook.subscribed")]
    Subscribed {
        id: SubscriptionId,
        url: String,
        /// Event types delivered; empty delivers every type.
        types: Vec<String>,
        /// Articles whose events are delivered; empty delivers every article's (and events
        /// about no article).
        articles: Vec<ArticleId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// Empty in a dump made without secrets: such a subscription stays paused.
        #[serde(default)]
        secret: String,
    },
    /// Delivery stops until resumed; `after_failures` when the deliverer gave up on the event
    /// at `seq` after its attempts.
    #[serde(rename = "webhook.paused")]
    Paused {
        id: SubscriptionId,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    #[serde(rename = "webhook.resumed")]
    Resumed { id: SubscriptionId },
    #[serde(rename = "webhook.unsubscribed")]
    Unsubscribed { id: SubscriptionId },
}

impl WebhookEvent {
    pub const TYPES: [&'static str; 4] = [
        "webhook.subscribed",
        "webhook.paused",
        "webhook.resumed",
        "webhook.unsubscribed",
    ];

    pub fn type_name(&self) -> &'static str {
        match self {
            WebhookEvent::Subscribed { .. } => "webhook.subscribed",
            WebhookEvent::Paused { .. } => "webhook.paused",
            WebhookEvent::Resumed { .. } => "webhook.resumed",
            WebhookEvent::Unsubscribed { .. } => "webhook.unsubscribed",
        }
    }

    pub fn subscription(&self) -> SubscriptionId {
        match self {
            WebhookEvent::Subscribed { id, .. }
            | WebhookEvent::Paused { id, .. }
            | WebhookEvent::Resumed { id }
            | WebhookEvent::Unsubscribed { id } => *id,
        }
    }
}

/// Whether a subscription delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Active,
    Paused {
        reason: String,
        at: DateTime<Utc>,
        seq: Option<u64>,
    },
}

/// One subscription as folded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub url: String,
    pub types: Vec<String>,
    pub articles: Vec<ArticleId>,
    pub description: Option<String>,
    pub secret: String,
    pub state: State,
    pub created_by: UserName,
    pub created: DateTime<Utc>,
    /// The log position of its `webhook.subscribed`: delivery starts after it.
    pub since: u64,
}

impl Subscription {
    /// Whether an event of `event_type`, about `article` (if any), is delivered.
    pub fn wants(&self, event_type: &str, article: Option<&str>) -> bool {
        let typed = self.types.is_empty() || self.types.iter().any(|t| t == event_type);
        let placed = self.articles.is_empty()
            || article.is_some_and(|a| self.articles.iter().any(|id| id.as_str() == a));
        typed && placed
    }

    pub fn is_active(&self) -> bool {
        self.state == State::Active
    }
}

/// Where an event sits in the log, and who wrote it when.
#[derive(Clone, Debug)]
pub struct Written {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: UserName,
}

/// Why a subscription restored from a dump without secrets does not deliver.
pub const WITHOUT_SECRET: &str =
    "restored from a dump without secrets: delete it and subscribe again for a new secret";

/// Every live subscription (unsubscribed ones are gone).
#[derive(Clone, Debug, Default)]
pub struct Registry {
    subscriptions: BTreeMap<SubscriptionId, Subscription>,
}

impl Registry {
    /// Folds one event. Events that do not fit (a pause of an unknown subscription) are
    /// skipped: the writer never appends them, and a fold must not fail on old logs.
    pub fn apply(&mut self, event: &WebhookEvent, written: &Written) {
        match event {
            WebhookEvent::Subscribed {
                id,
                url,
                types,
                articles,
                description,
                secret,
            } => {
                self.subscriptions.entry(*id).or_insert(Subscription {
                    id: *id,
                    url: url.clone(),
                    types: types.clone(),
                    articles: articles.clone(),
                    description: description.clone(),
                    secret: secret.clone(),
                    state: if secret.is_empty() {
                        State::Paused {
                            reason: WITHOUT_SECRET.into(),
                            at: written.at,
                            seq: None,
                        }
                    } else {
                        State::Active
                    },
                    created_by: written.actor.clone(),
                    created: written.at,
                    since: written.seq,
                });
            }
            WebhookEvent::Paused { id, reason, seq } => {
                if let Some(s) = self.subscriptions.get_mut(id) {
                    s.state = State::Paused {
                        reason: reason.clone(),
                        at: written.at,
                        seq: *seq,
                    };
                }
            }
            WebhookEvent::Resumed { id } => {
                if let Some(s) = self.subscriptions.get_mut(id) {
                    s.state = State::Active;
                }
            }
            WebhookEvent::Unsubscribed { id } => {
                self.subscriptions.remove(id);
            }
        }
    }

    pub fn get(&self, id: &SubscriptionId) -> Option<&Subscription> {
        self.subscriptions.get(id)
    }

    /// Every subscription, oldest first.
    pub fn all(&self) -> Vec<Subscription> {
        let mut all: Vec<Subscription> = self.subscriptions.values().cloned().collect();
        all.sort_by_key(|s| s.since);
        all
    }
}

/// The longest description kept.
const MAX_DESCRIPTION: usize = 200;
/// The longest address accepted.
const MAX_URL: usize = 2000;
/// Most articles or types one subscription may name.
const MAX_FILTER: usize = 100;

/// A new subscription's fields, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub url: String,
    pub types: Vec<String>,
    pub articles: Vec<ArticleId>,
    pub description: Option<String>,
}

/// What an admin asks for, checked into the event's fields, or a message saying what to fix.
pub fn check_new(
    url: &str,
    types: &[String],
    articles: &[String],
    description: Option<&str>,
) -> Result<Checked, String> {
    let url = url.trim();
    if url.len() > MAX_URL {
        return Err(format!("url must be at most {MAX_URL} characters"));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("url {url:?} is not an absolute address ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "url must be an http:// or https:// address, not {}:",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("url must name a host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "url must not carry a user name or password; receivers check the webhook-signature \
             header instead"
                .into(),
        );
    }
    if parsed.fragment().is_some() {
        return Err("url must not have a #fragment".into());
    }
    if types.len() > MAX_FILTER || articles.len() > MAX_FILTER {
        return Err(format!(
            "a subscription names at most {MAX_FILTER} types and {MAX_FILTER} articles"
        ));
    }
    let mut checked_types = Vec::new();
    for t in types {
        if EventType::parse(t).is_none_or(|t| t == EventType::RequestRecorded) {
            let known: Vec<&str> = EventType::ALL
                .iter()
                .filter(|t| **t != EventType::RequestRecorded)
                .map(|t| t.as_str())
                .collect();
            return Err(format!(
                "types: {t:?} is not an event type; the types are {}",
                known.join(", ")
            ));
        }
        if !checked_types.contains(t) {
            checked_types.push(t.clone());
        }
    }
    let mut checked_articles = Vec::new();
    for a in articles {
        let id = ArticleId::parse(a)
            .map_err(|e| format!("articles: {a:?} is not an article id ({e})"))?;
        if !checked_articles.contains(&id) {
            checked_articles.push(id);
        }
    }
    let description = match description.map(str::trim) {
        None | Some("") => None,
        Some(d) if d.chars().count() > MAX_DESCRIPTION => {
            return Err(format!(
                "description must be at most {MAX_DESCRIPTION} characters"
            ))
        }
        Some(d) => Some(d.to_owned()),
    };
    Ok(Checked {
        url: parsed.to_string(),
        types: checked_types,
        articles: checked_articles,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(seq: u64) -> Written {
        Written {
            seq,
            at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            actor: UserName::parse("admin").unwrap(),
        }
    }

    fn subscribed(id: SubscriptionId, types: &[&str], articles: &[&str]) -> WebhookEvent {
        WebhookEvent::Subscribed {
            id,
            url: "http://127.0.0.1:9/hook".into(),
            types: types.iter().map(|t| t.to_string()).collect(),
            articles: articles
                .iter()
                .map(|a| ArticleId::parse(a).unwrap())
                .collect(),
            description: None,
            secret: "whsec_x".into(),
        }
    }

    #[test]
    fn given_a_subscription_when_paused_and_resumed_then_it_delivers_again() {
        let id = uuid::Uuid::new_v4();
        let mut registry = Registry::default();
        registry.apply(&subscribed(id, &[], &[]), &written(7));
        assert_eq!(registry.get(&id).unwrap().since, 7);
        registry.apply(
            &WebhookEvent::Paused {
                id,
                reason: "gave up".into(),
                seq: Some(9),
            },
            &written(10),
        );
        assert!(!registry.get(&id).unwrap().is_active());
        registry.apply(&WebhookEvent::Resumed { id }, &written(11));
        assert!(registry.get(&id).unwrap().is_active());
        registry.apply(&WebhookEvent::Unsubscribed { id }, &written(12));
        assert!(registry.get(&id).is_none());
        // A pause of what is gone changes nothing.
        registry.apply(&WebhookEvent::Resumed { id }, &written(13));
        assert!(registry.all().is_empty());
    }

    #[test]
    fn every_event_is_written_under_its_listed_type() {
        let id = uuid::Uuid::new_v4();
        let events = [
            subscribed(id, &[], &[]),
            WebhookEvent::Paused {
                id,
                reason: "r".into(),
                seq: None,
            },
            WebhookEvent::Resumed { id },
            WebhookEvent::Unsubscribed { id },
        ];
        for event in &events {
            let json = serde_json::to_value(event).unwrap();
            assert_eq!(json["type"], event.type_name());
            assert!(WebhookEvent::TYPES.contains(&event.type_name()));
            assert_eq!(event.subscription(), id);
        }
        assert_eq!(events.len(), WebhookEvent::TYPES.len());
    }

    #[test]
    fn filters_select_by_type_and_by_article() {
        let id = uuid::Uuid::new_v4();
        let mut registry = Registry::default();
        registry.apply(
            &subscribed(id, &["annotation.created"], &["twenty-six-nations"]),
            &written(1),
        );
        let s = registry.get(&id).unwrap();
        assert!(s.wants("annotation.created", Some("twenty-six-nations")));
        assert!(!s.wants("annotation.updated", Some("twenty-six-nations")));
        assert!(!s.wants("annotation.created", Some("other")));
        assert!(!s.wants("annotation.created", None));
        let all = Subscription {
            types: vec![],
            articles: vec![],
            ..s.clone()
        };
        assert!(all.wants("claim.created", None));
    }

    #[test]
    fn a_new_subscription_is_checked_field_by_field() {
        let ok = check_new(
            " http://127.0.0.1:8080/hook ",
            &["annotation.created".into(), "annotation.created".into()],
            &["twenty-six-nations".into()],
            Some("  newsletter  "),
        )
        .unwrap();
        assert_eq!(ok.url, "http://127.0.0.1:8080/hook");
        assert_eq!(ok.types, vec!["annotation.created".to_string()]);
        assert_eq!(ok.description.as_deref(), Some("newsletter"));
        let refused = |url: &str, types: &[&str], articles: &[&str]| {
            let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
            let articles: Vec<String> = articles.iter().map(|t| t.to_string()).collect();
            check_new(url, &types, &articles, None).unwrap_err()
        };
        assert!(refused("ftp://example.org/x", &[], &[]).contains("http://"));
        assert!(refused("/relative", &[], &[]).contains("absolute"));
        assert!(refused("http://u:p@example.org/", &[], &[]).contains("password"));
        assert!(refused("http://example.org/", &["annotation.made"], &[]).contains("types"));
        assert!(refused("http://example.org/", &[], &["../x"]).contains("articles"));
    }
}
