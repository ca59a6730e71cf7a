//! Who is asking: users, their roles, and the bearer tokens they sign in with.
//!
//! Users and tokens are events in the log (`access-control` stream, see `directory`), folded
//! into an in-memory directory that every request authenticates against; `service` writes them
//! while the server runs and tells open connections when their token is revoked. Only the
//! SHA-256 of a token is stored, and no HTTP answer carries even that (but for the demo tokens,
//! whose secrets are public). Demo users with
//! well-known tokens exist only on a demo desk; `opening` decides, on each start, what kind of
//! desk a data directory is (ADR 0008).

mod directory;
mod opening;
mod service;

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::UserName;

pub use directory::{AccessEvent, Directory, TokenInfo};
pub use opening::{check_exposure, open_desk, DeskChoice, DeskOpening, StoreFacts};
pub use service::{access_event, public_data, AccessError, IssuedToken, NewUser, Users};

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, writes nothing.
    Viewer,
    /// Annotates, replies, moves annotations through the workflow, ingests articles.
    Editor,
    /// Everything an editor does, and manages users.
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}; expected viewer, editor or admin"
            )),
        }
    }

    pub fn can_write(self) -> bool {
        self >= Role::Editor
    }
}

/// An authenticated user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: UserName,
    pub display_name: String,
    pub role: Role,
}

/// A demo user of a demo desk.
pub struct DemoUser {
    pub name: &'static str,
    pub display_name: &'static str,
    pub role: Role,
    pub token: &'static str,
}

/// The demo desk: a reporter, a fact-checker, the desk chief and a reader.
pub const DEMO_USERS: [DemoUser; 4] = [
    DemoUser {
        name: "alice",
        display_name: "Alice Martin (reporter)",
        role: Role::Editor,
        token: "demo-alice-token",
    },
    DemoUser {
        name: "bruno",
        display_name: "Bruno Costa (fact-checker)",
        role: Role::Editor,
        token: "demo-bruno-token",
    },
    DemoUser {
        name: "chiara",
        display_name: "Chiara Rossi (desk chief)",
        role: Role::Admin,
        token: "demo-chiara-token",
    },
    DemoUser {
        name: "victor",
        display_name: "Victor Lang (viewer)",
        role: Role::Viewer,
        token: "demo-victor-token",
    },
];

/// The id of a token: shown in listings and used to revoke it; not a secret.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenId(String);

impl TokenId {
    /// `tok-` and lower-case letters, digits and dashes, at most 48 characters in all.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = raw.len() <= 48
            && raw.strip_prefix("tok-").is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            });
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "{raw:?} is not a token id; token ids look like tok-1f3a9c0d2b4e (see GET /api/tokens)"
            ))
        }
    }

    fn random() -> Self {
        Self(format!(
            "tok-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ))
    }

    fn demo(user: &str) -> Self {
        Self(format!("tok-demo-{user}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TokenId {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl From<TokenId> for String {
    fn from(id: TokenId) -> String {
        id.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SHA-256 of a token, as stored.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new secret: `glossa_` and 64 hex digits from two random UUIDs (244 random bits), so a
/// token is recognisable in a log line or a leaked file, and cannot be guessed.
fn new_secret() -> String {
    format!(
        "glossa_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
