//! Webhooks (ADR 0017): admins subscribe a URL to the desk's events, by type and by article;
//! deliveries follow the Standard Webhooks conventions, at least once and in log order per
//! subscription, from a cursor kept with the log.
//!
//! `subscriptions` (the events on the `webhook-subscriptions` stream and their pure fold),
//! `signing` (secrets and signatures), `service` (the live subscriptions: changes appended,
//! folded, watched), `deliver` (the tasks that send).

pub mod deliver;
pub mod service;
pub mod signing;
pub mod subscriptions;

pub use deliver::Policy;
pub use service::{webhook_event, NewSubscription, WebhookError, Webhooks};
pub use subscriptions::{State, Subscription, SubscriptionId, WebhookEvent};
