//! What kind of desk a data directory is, decided on every start (ADR 0008).
//!
//! A *demo desk* has the seed articles and the four demo users with the tokens printed in the
//! README; a *real desk* has neither, and its first start creates one admin whose token is
//! printed once. A new data directory becomes a demo desk unless started with `--no-seed`;
//! after that the data directory decides, and flags that would change it are refused: a demo
//! desk stays one, and a real desk never gets demo users. A desk that holds live demo tokens
//! does not listen beyond loopback unless it is declared a demo (`--demo`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::bail;
use serde::Deserialize;

use crate::domain::UserName;

use super::directory::AccessEvent;
use super::service::{IssuedToken, NewUser};
use super::{hash, Role, TokenId, Users, DEMO_USERS};

/// What the operator asked for on this start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeskChoice {
    /// A new data directory becomes a demo desk (`--no-seed` makes it a real one).
    pub seed: bool,
    /// Declared a demo on purpose: a new data directory becomes a demo desk, and a demo desk may
    /// listen beyond loopback.
    pub demo: bool,
}

/// The state of the store that the decision needs, besides the directory.
#[derive(Clone, Copy, Debug)]
pub struct StoreFacts {
    /// The log holds no event at all.
    pub log_is_empty: bool,
    /// The log holds the seed articles (only a demo desk ever had them).
    pub has_seeds: bool,
}

/// What the start decided.
#[derive(Clone, Debug, Default)]
pub struct DeskOpening {
    pub demo: bool,
    /// This start gave the desk its first users.
    pub new_desk: bool,
    /// A token issued because no admin had a live one (the first start of a real desk, or a
    /// desk restored from a dump without token hashes): print it once.
    pub admin_token: Option<IssuedToken>,
}

/// Decides what kind of desk this is, refuses flags and addresses that do not fit it, and
/// writes the demo users, or an admin, when the desk needs them.
pub async fn open_desk(
    users: &Users,
    store: StoreFacts,
    data_dir: &Path,
    choice: DeskChoice,
    addr: SocketAddr,
) -> anyhow::Result<DeskOpening> {
    if users.is_empty() {
        import_users_file(users, data_dir, store.has_seeds).await?;
    }
    let wants_demo = choice.seed || choice.demo;
    let mut opening = DeskOpening::default();
    if users.is_empty() {
        // A new data directory, or a log restored from a dump of a build that kept users
        // outside the log: its kind is decided now, once.
        opening.new_desk = true;
        let demo = wants_demo && (store.log_is_empty || store.has_seeds);
        if choice.demo && !demo {
            bail!(
                "{} already holds a desk without the demo articles, so it cannot become a demo \
                 desk. Drop --demo (GLOSSA_DEMO) to run it as a real desk, or start a demo on a \
                 new, empty data directory.",
                data_dir.display()
            );
        }
        if demo {
            check_exposure(addr, true, choice.demo)?;
            users
                .append_checked(&UserName::system(), demo_events())
                .await?;
        }
    } else {
        if users.is_demo_desk() && !choice.seed {
            bail!(
                "{} is a demo desk (it has the demo users), and --no-seed (GLOSSA_NO_SEED) only \
                 makes a new data directory a real desk. Drop --no-seed to run this demo, or start \
                 a real desk on a new, empty data directory with --no-seed.",
                data_dir.display()
            );
        }
        if !users.is_demo_desk() && choice.demo {
            bail!(
                "{} is a real desk, and a real desk never gets the demo users. Drop --demo \
                 (GLOSSA_DEMO) to run it, or start a demo on a new, empty data directory.",
                data_dir.display()
            );
        }
        check_exposure(addr, !users.live_demo_users().is_empty(), choice.demo)?;
    }
    if !users.has_live_admin() {
        opening.admin_token = Some(admin_token(users).await?);
    }
    opening.demo = users.is_demo_desk();
    Ok(opening)
}

/// Refuses to serve well-known tokens to the network unless told that this is a demo.
pub fn check_exposure(
    addr: SocketAddr,
    holds_demo_tokens: bool,
    declared_demo: bool,
) -> anyhow::Result<()> {
    if holds_demo_tokens && !addr.ip().is_loopback() && !declared_demo {
        bail!(
            "refusing to listen on {addr}: this desk has the demo users, whose tokens are printed \
             in the README (one of them is an admin), and {addr} can be reached from other \
             machines. If this is meant to be a demo, say so with --demo (or GLOSSA_DEMO=1). For a \
             real desk, start a new, empty data directory with --no-seed, or listen on 127.0.0.1 \
             and revoke the demo tokens (glossa token revoke) first."
        );
    }
    Ok(())
}

/// The demo users and their well-known tokens.
fn demo_events() -> Vec<AccessEvent> {
    let mut events = Vec::new();
    for demo in &DEMO_USERS {
        let name = UserName::parse(demo.name).expect("demo names are valid");
        events.push(AccessEvent::UserCreated {
            name: name.clone(),
            display_name: demo.display_name.to_owned(),
            role: demo.role,
        });
        events.push(AccessEvent::TokenIssued {
            token: TokenId::demo(demo.name),
            user: name,
            sha256: hash(demo.token),
            demo: true,
        });
    }
    events
}

/// A token for the first admin user, or for `admin`, created if there is none: nobody could
/// manage the desk otherwise. Whoever reads the server's output could as well run
/// `glossa token create` on its data directory, so this gives nobody new power.
async fn admin_token(users: &Users) -> anyhow::Result<IssuedToken> {
    let system = UserName::system();
    if let Some(admin) = users.people().into_iter().find(|u| u.role == Role::Admin) {
        return Ok(users.issue_token(&system, &admin.name, None).await?);
    }
    let new = NewUser {
        name: UserName::parse("admin").expect("a valid name"),
        display_name: Some("Administrator".into()),
        role: Role::Admin,
    };
    users
        .issue_token_creating_user(&system, new)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "this desk has no admin who can sign in, and `admin` cannot be made one ({e}); \
                 issue an admin token with `glossa token create --user NAME --role admin` on the \
                 data directory"
            )
        })
}

/// `users.json` as builds before ADR 0008 wrote it.
#[derive(Deserialize)]
struct UsersFile {
    tokens: Vec<FileToken>,
}

#[derive(Deserialize)]
struct FileToken {
    user: UserName,
    #[serde(default)]
    display_name: Option<String>,
    role: Role,
    sha256: String,
}

fn users_file(data_dir: &Path) -> PathBuf {
    data_dir.join("users.json")
}

/// Moves the users of an older data directory into the log, once, and renames the file. Demo
/// tokens come along only if the directory had the seeds (a demo desk): older builds gave every
/// data directory the demo tokens, and a real desk must not keep them.
async fn import_users_file(users: &Users, data_dir: &Path, seeded: bool) -> anyhow::Result<()> {
    let path = users_file(data_dir);
    let Ok(raw) = std::fs::read(&path) else {
        return Ok(());
    };
    let file: UsersFile = serde_json::from_slice(&raw)
        .map_err(|e| anyhow::anyhow!("{} is not a valid users file: {e}", path.display()))?;
    let demo_hashes: Vec<String> = DEMO_USERS.iter().map(|d| hash(d.token)).collect();
    let kept: Vec<&FileToken> = file
        .tokens
        .iter()
        .filter(|t| seeded || !demo_hashes.contains(&t.sha256))
        .collect();
    let mut accounts: BTreeMap<&UserName, (String, Role)> = BTreeMap::new();
    for token in &kept {
        let account = accounts.entry(&token.user).or_insert_with(|| {
            let display = token.display_name.clone();
            (
                display.unwrap_or_else(|| token.user.to_string()),
                token.role,
            )
        });
        // A user is one role now; they keep the highest any of their tokens had.
        account.1 = account.1.max(token.role);
    }
    let mut events: Vec<AccessEvent> = accounts
        .into_iter()
        .map(|(name, (display_name, role))| AccessEvent::UserCreated {
            name: name.clone(),
            display_name,
            role,
        })
        .collect();
    for token in kept {
        events.push(AccessEvent::TokenIssued {
            token: TokenId::random(),
            user: token.user.clone(),
            sha256: token.sha256.clone(),
            demo: demo_hashes.contains(&token.sha256),
        });
    }
    if !events.is_empty() {
        users.append_checked(&UserName::system(), events).await?;
    }
    std::fs::rename(&path, path.with_extension("json.imported"))?;
    tracing::info!(path = %path.display(), "moved the users file into the event log");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_tokens_stay_on_loopback_unless_declared() {
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let error = check_exposure(public, true, false).unwrap_err().to_string();
        assert!(
            error.contains("--demo") && error.contains("0.0.0.0:8080"),
            "{error}"
        );
        assert!(check_exposure(public, true, true).is_ok());
        assert!(check_exposure(public, false, false).is_ok());
        assert!(check_exposure(local, true, false).is_ok());
        assert!(check_exposure("[::1]:8080".parse().unwrap(), true, false).is_ok());
    }
}
