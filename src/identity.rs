//! Who is asking: bearer tokens, the users they belong to, and their roles.
//!
//! Tokens live hashed (SHA-256) in `users.json` in the data directory, so a copy of the data
//! directory does not hand out working tokens. The embedded default creates demo users with
//! well-known tokens on first start; `glossa token create` adds real ones.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::UserName;

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

/// One token as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TokenEntry {
    user: UserName,
    #[serde(default)]
    display_name: Option<String>,
    role: Role,
    sha256: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct UsersFile {
    tokens: Vec<TokenEntry>,
}

/// A demo user created with a new data directory.
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

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The users and tokens of one data directory.
#[derive(Clone, Debug)]
pub struct Users {
    entries: Vec<TokenEntry>,
}

pub fn users_file(data_dir: &Path) -> PathBuf {
    data_dir.join("users.json")
}

impl Users {
    /// Loads `users.json`, creating it with the demo users if it does not exist.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = users_file(data_dir);
        if !path.exists() {
            let file = UsersFile {
                tokens: DEMO_USERS
                    .iter()
                    .map(|demo| TokenEntry {
                        user: UserName::parse(demo.name).expect("demo names are valid"),
                        display_name: Some(demo.display_name.to_owned()),
                        role: demo.role,
                        sha256: hash(demo.token),
                    })
                    .collect(),
            };
            fs::create_dir_all(data_dir)?;
            write_atomically(&path, &file)?;
        }
        Self::load(data_dir)
    }

    pub fn load(data_dir: &Path) -> anyhow::Result<Self> {
        let path = users_file(data_dir);
        let raw =
            fs::read(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let file: UsersFile = serde_json::from_slice(&raw)
            .map_err(|e| anyhow::anyhow!("{} is not a valid users file: {e}", path.display()))?;
        Ok(Self {
            entries: file.tokens,
        })
    }

    /// The user a bearer token belongs to.
    pub fn authenticate(&self, token: &str) -> Option<User> {
        let digest = hash(token);
        self.entries
            .iter()
            .find(|entry| entry.sha256 == digest)
            .map(|entry| User {
                name: entry.user.clone(),
                display_name: entry
                    .display_name
                    .clone()
                    .unwrap_or_else(|| entry.user.to_string()),
                role: entry.role,
            })
    }

    /// Every user with a token, once each (with their highest role), in name order.
    pub fn people(&self) -> Vec<User> {
        let mut people: Vec<User> = Vec::new();
        for entry in &self.entries {
            let display_name = entry
                .display_name
                .clone()
                .unwrap_or_else(|| entry.user.to_string());
            match people.iter_mut().find(|u| u.name == entry.user) {
                Some(known) => known.role = known.role.max(entry.role),
                None => people.push(User {
                    name: entry.user.clone(),
                    display_name,
                    role: entry.role,
                }),
            }
        }
        people.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        people
    }

    /// Whether `name` is a user of this desk (has a token of any role): the one question every
    /// check on a person's name (an assignee, say) asks.
    pub fn is_user(&self, name: &UserName) -> bool {
        self.entries.iter().any(|entry| &entry.user == name)
    }

    /// The display name of a user, if known.
    pub fn display_name(&self, name: &UserName) -> Option<String> {
        self.entries
            .iter()
            .find(|entry| &entry.user == name)
            .map(|entry| {
                entry
                    .display_name
                    .clone()
                    .unwrap_or_else(|| name.to_string())
            })
    }
}

/// Creates a new random token for a user, stores its hash, and returns the token.
pub fn create_token(data_dir: &Path, user: &UserName, role: Role) -> anyhow::Result<String> {
    Users::load_or_create(data_dir)?;
    let path = users_file(data_dir);
    let mut file: UsersFile = serde_json::from_slice(&fs::read(&path)?)?;
    let token = format!(
        "glossa_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let display_name = file
        .tokens
        .iter()
        .find(|e| &e.user == user)
        .and_then(|e| e.display_name.clone());
    file.tokens.push(TokenEntry {
        user: user.clone(),
        display_name,
        role,
        sha256: hash(&token),
    });
    write_atomically(&path, &file)?;
    Ok(token)
}

fn write_atomically(path: &Path, file: &UsersFile) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut out = fs::File::create(&tmp)?;
    out.write_all(&serde_json::to_vec_pretty(file)?)?;
    out.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_tokens_authenticate_and_are_stored_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let users = Users::load_or_create(dir.path()).unwrap();
        let alice = users.authenticate("demo-alice-token").unwrap();
        assert_eq!(alice.role, Role::Editor);
        assert!(users.authenticate("nope").is_none());
        let stored = fs::read_to_string(users_file(dir.path())).unwrap();
        assert!(!stored.contains("demo-alice-token"));
    }

    #[test]
    fn created_tokens_work_after_reload() {
        let dir = tempfile::tempdir().unwrap();
        let name = UserName::parse("dana").unwrap();
        let token = create_token(dir.path(), &name, Role::Viewer).unwrap();
        let users = Users::load(dir.path()).unwrap();
        assert_eq!(users.authenticate(&token).unwrap().name, name);
    }
}
