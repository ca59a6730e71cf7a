//! The desk's directory of users and tokens, as a fold of the access events in the log.
//!
//! Users, role changes, issued tokens and revocations are events on the `access-control`
//! stream, so every copy of the log (a restart, a rebuild, a restored dump, another replica
//! reading the same log) folds to the same directory. This file is pure: the events come in
//! with their times, nothing here reads a clock or a disk.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::UserName;

use super::{Role, TokenId, User};

/// A change to who may use the desk. Token secrets are never in an event, only their SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum AccessEvent {
    #[serde(rename = "user.created")]
    UserCreated {
        name: UserName,
        display_name: String,
        role: Role,
    },
    #[serde(rename = "user.role_changed")]
    UserRoleChanged {
        name: UserName,
        from: Role,
        to: Role,
    },
    /// A token for `user`; `sha256` is the hash of the secret, which only its holder knows.
    /// Demo tokens are the well-known ones of a demo desk.
    #[serde(rename = "token.issued")]
    TokenIssued {
        token: TokenId,
        user: UserName,
        sha256: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        demo: bool,
    },
    #[serde(rename = "token.revoked")]
    TokenRevoked { token: TokenId },
}

impl AccessEvent {
    /// Every access event type.
    pub const TYPES: [&'static str; 4] = [
        "user.created",
        "user.role_changed",
        "token.issued",
        "token.revoked",
    ];

    pub fn type_name(&self) -> &'static str {
        match self {
            AccessEvent::UserCreated { .. } => "user.created",
            AccessEvent::UserRoleChanged { .. } => "user.role_changed",
            AccessEvent::TokenIssued { .. } => "token.issued",
            AccessEvent::TokenRevoked { .. } => "token.revoked",
        }
    }
}

/// One user as the directory knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Account {
    display_name: String,
    role: Role,
}

/// One token as listed: everything but its secret and its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: TokenId,
    pub user: UserName,
    pub role: Role,
    pub issued: DateTime<Utc>,
    pub revoked: Option<DateTime<Utc>>,
    /// One of the well-known tokens of a demo desk.
    pub demo: bool,
}

impl TokenInfo {
    /// The token as the API and the command line list it.
    pub fn listing(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "user": self.user,
            "role": self.role,
            "issued": crate::clock::timestamp(self.issued),
            "revoked": self.revoked.map(crate::clock::timestamp),
            "demo": self.demo,
        })
    }
}

#[derive(Clone, Debug)]
struct TokenEntry {
    user: UserName,
    sha256: String,
    demo: bool,
    issued: DateTime<Utc>,
    revoked: Option<DateTime<Utc>>,
}

/// Users and tokens, folded from the access events.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    users: BTreeMap<UserName, Account>,
    tokens: BTreeMap<TokenId, TokenEntry>,
    /// Live tokens by hash: what authentication looks up.
    live: HashMap<String, TokenId>,
}

impl Directory {
    /// Folds one event, written at `at`. Events that do not fit (a token for an unknown user)
    /// are skipped: the writer never appends them, and a fold must not fail on old logs.
    pub fn apply(&mut self, event: &AccessEvent, at: DateTime<Utc>) {
        match event {
            AccessEvent::UserCreated {
                name,
                display_name,
                role,
            } => {
                self.users.entry(name.clone()).or_insert(Account {
                    display_name: display_name.clone(),
                    role: *role,
                });
            }
            AccessEvent::UserRoleChanged { name, to, .. } => {
                if let Some(account) = self.users.get_mut(name) {
                    account.role = *to;
                }
            }
            AccessEvent::TokenIssued {
                token,
                user,
                sha256,
                demo,
            } => {
                if !self.users.contains_key(user) || self.tokens.contains_key(token) {
                    return;
                }
                self.live.insert(sha256.clone(), token.clone());
                self.tokens.insert(
                    token.clone(),
                    TokenEntry {
                        user: user.clone(),
                        sha256: sha256.clone(),
                        demo: *demo,
                        issued: at,
                        revoked: None,
                    },
                );
            }
            AccessEvent::TokenRevoked { token } => {
                if let Some(entry) = self.tokens.get_mut(token) {
                    if entry.revoked.is_none() {
                        entry.revoked = Some(at);
                        self.live.remove(&entry.sha256);
                    }
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }

    /// The user and token a secret's hash belongs to, if the token is live.
    pub fn authenticate(&self, sha256: &str) -> Option<(User, TokenId)> {
        let id = self.live.get(sha256)?;
        let entry = self.tokens.get(id)?;
        Some((self.user(&entry.user)?, id.clone()))
    }

    pub fn user(&self, name: &UserName) -> Option<User> {
        self.users.get(name).map(|account| User {
            name: name.clone(),
            display_name: account.display_name.clone(),
            role: account.role,
        })
    }

    /// Every user, in name order.
    pub fn people(&self) -> Vec<User> {
        self.users
            .keys()
            .filter_map(|name| self.user(name))
            .collect()
    }

    pub fn is_live(&self, token: &TokenId) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|entry| entry.revoked.is_none())
    }

    pub fn token(&self, id: &TokenId) -> Option<TokenInfo> {
        let entry = self.tokens.get(id)?;
        Some(TokenInfo {
            id: id.clone(),
            user: entry.user.clone(),
            role: self.users.get(&entry.user).map_or(Role::Viewer, |a| a.role),
            issued: entry.issued,
            revoked: entry.revoked,
            demo: entry.demo,
        })
    }

    /// Every token ever issued, in id order.
    pub fn tokens(&self) -> Vec<TokenInfo> {
        self.tokens.keys().filter_map(|id| self.token(id)).collect()
    }

    /// Whether this desk was ever given the well-known demo tokens: a demo desk stays one.
    pub fn is_demo_desk(&self) -> bool {
        self.tokens.values().any(|entry| entry.demo)
    }

    /// The demo users whose well-known token still works.
    pub fn live_demo_users(&self) -> Vec<UserName> {
        self.tokens
            .values()
            .filter(|entry| entry.demo && entry.revoked.is_none())
            .map(|entry| entry.user.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> UserName {
        UserName::parse(raw).unwrap()
    }

    fn token(raw: &str) -> TokenId {
        TokenId::parse(raw).unwrap()
    }

    fn given(events: &[AccessEvent]) -> Directory {
        let mut directory = Directory::default();
        for event in events {
            directory.apply(event, Utc::now());
        }
        directory
    }

    fn dana_with_a_token() -> Vec<AccessEvent> {
        vec![
            AccessEvent::UserCreated {
                name: name("dana"),
                display_name: "Dana".into(),
                role: Role::Editor,
            },
            AccessEvent::TokenIssued {
                token: token("tok-1"),
                user: name("dana"),
                sha256: "h1".into(),
                demo: false,
            },
        ]
    }

    #[test]
    fn an_issued_token_authenticates_its_user_with_the_users_current_role() {
        let mut directory = given(&dana_with_a_token());
        let (user, id) = directory.authenticate("h1").unwrap();
        assert_eq!((user.name.as_str(), user.role), ("dana", Role::Editor));
        assert_eq!(id, token("tok-1"));

        directory.apply(
            &AccessEvent::UserRoleChanged {
                name: name("dana"),
                from: Role::Editor,
                to: Role::Viewer,
            },
            Utc::now(),
        );
        assert_eq!(directory.authenticate("h1").unwrap().0.role, Role::Viewer);
    }

    #[test]
    fn a_revoked_token_no_longer_authenticates_but_is_still_listed() {
        let mut events = dana_with_a_token();
        events.push(AccessEvent::TokenRevoked {
            token: token("tok-1"),
        });
        let directory = given(&events);
        assert_eq!(directory.authenticate("h1"), None);
        assert!(!directory.is_live(&token("tok-1")));
        let listed = directory.tokens();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].revoked.is_some());
    }

    #[test]
    fn a_token_for_an_unknown_user_is_skipped() {
        let directory = given(&[AccessEvent::TokenIssued {
            token: token("tok-1"),
            user: name("nobody"),
            sha256: "h1".into(),
            demo: false,
        }]);
        assert_eq!(directory.authenticate("h1"), None);
        assert!(directory.tokens().is_empty());
    }

    #[test]
    fn a_desk_that_had_demo_tokens_stays_a_demo_desk_after_revoking_them() {
        let mut events = dana_with_a_token();
        events.push(AccessEvent::TokenIssued {
            token: token("tok-demo"),
            user: name("dana"),
            sha256: "h2".into(),
            demo: true,
        });
        let mut directory = given(&events);
        assert_eq!(directory.live_demo_users(), vec![name("dana")]);
        directory.apply(
            &AccessEvent::TokenRevoked {
                token: token("tok-demo"),
            },
            Utc::now(),
        );
        assert!(directory.is_demo_desk());
        assert!(directory.live_demo_users().is_empty());
    }

    #[test]
    fn events_round_trip_with_their_type_names() {
        for event in dana_with_a_token() {
            let json = serde_json::to_value(&event).unwrap();
            assert_eq!(json["type"], event.type_name());
            assert!(AccessEvent::TYPES.contains(&event.type_name()));
            assert_eq!(serde_json::from_value::<AccessEvent>(json).unwrap(), event);
        }
    }
}
