//! The live directory: authenticates every request, writes user and token changes to the log
//! while the server runs, and tells open connections when their token is revoked.
//!
//! A write is checked against the directory, appended to the `access-control` stream (durable
//! before anyone is told), and only then folded in, under one lock so that two admins cannot
//! both create the same user. Revocations bump a watch that each open sync socket and live
//! tail holds, so a revoked token loses its connections at once, not at its next request.
//! A user created or a token issued under an `Idempotency-Key` carries the request's receipt
//! in the same append (ADR 0007); [`Users::written_with`] finds what it wrote on a retry.

use std::future::Future;
use std::sync::{Arc, RwLock};

use serde_json::json;
use tokio::sync::watch;

use crate::documents::own_events;
use crate::domain::idempotency::Receipt;
use crate::domain::{StreamId, UserName};
use crate::store::{AppendRequest, EventLog, EventRecord, Expected, StoreError};

use super::directory::{AccessEvent, Directory, TokenInfo};
use super::{hash, new_secret, Role, TokenId, User};

/// What an access change can fail with; `http` maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// 409: the name is taken.
    #[error("a user named {0} already exists")]
    UserExists(UserName),
    /// 404
    #[error("there is no user named {0}")]
    UnknownUser(UserName),
    /// 404
    #[error("there is no token {0}")]
    UnknownToken(TokenId),
    /// 422: a value breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// 5xx: the log could not take the change.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A user to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub name: UserName,
    /// Defaults to the name.
    pub display_name: Option<String>,
    pub role: Role,
}

/// A token just issued: the secret is shown this once and never again.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub info: TokenInfo,
    pub secret: String,
}

/// Longest display name accepted.
const MAX_DISPLAY_NAME: usize = 100;

/// The users and tokens of a desk; cheap to clone.
#[derive(Clone, Default)]
pub struct Users {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    directory: RwLock<Directory>,
    /// Where changes go; a directory without a log (benchmarks, offline renderers) is read-only.
    log: Option<EventLog>,
    /// Bumped after every revocation is durable.
    revocations: watch::Sender<u64>,
    /// One access write at a time: checks and appends never interleave.
    writes: tokio::sync::Mutex<()>,
    /// The `access-control` stream's version the directory has folded.
    folded: std::sync::atomic::AtomicU64,
    /// Where in the log the last event folded is: an append reads the stream after it.
    folded_seq: std::sync::atomic::AtomicU64,
}

impl Users {
    /// Folds the access events of `log`.
    pub fn open(log: &EventLog) -> Result<Self, StoreError> {
        let mut directory = Directory::default();
        let (mut folded, mut folded_seq) = (0, 0);
        for record in log.read_stream(&StreamId::Access, 0)? {
            if let Some(event) = access_event(&record) {
                directory.apply(&event, record.at);
            }
            (folded, folded_seq) = (record.version, record.seq);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                directory: RwLock::new(directory),
                log: Some(log.clone()),
                folded: folded.into(),
                folded_seq: folded_seq.into(),
                ..Inner::default()
            }),
        })
    }

    /// Folds the access events among `records` that the directory has not folded yet: those
    /// other processes append to a shared log (users, roles, tokens and revocations written on
    /// one server hold on every server, and a revoked token's open connections close here too).
    pub fn fold_appended(&self, records: &[EventRecord]) {
        use std::sync::atomic::Ordering;
        let mut revoked = false;
        {
            let mut directory = self.inner.directory.write().expect("directory lock");
            for record in records.iter().filter(|r| r.stream == StreamId::Access) {
                if record.version <= self.inner.folded.load(Ordering::Acquire) {
                    continue;
                }
                if let Some(event) = access_event(record) {
                    directory.apply(&event, record.at);
                    revoked |= matches!(event, AccessEvent::TokenRevoked { .. });
                }
                self.inner.folded.store(record.version, Ordering::Release);
                self.inner.folded_seq.store(record.seq, Ordering::Release);
            }
        }
        if revoked {
            self.inner.revocations.send_modify(|n| *n += 1);
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Directory) -> T) -> T {
        f(&self.inner.directory.read().expect("directory lock"))
    }

    /// The user a bearer token belongs to, if the token is live.
    pub fn authenticate(&self, token: &str) -> Option<User> {
        self.authenticate_token(token).map(|(user, _)| user)
    }

    /// The user and the id of a live token.
    pub fn authenticate_token(&self, token: &str) -> Option<(User, TokenId)> {
        let digest = hash(token);
        self.read(|d| d.authenticate(&digest))
    }

    /// Every user, once each, in name order.
    pub fn people(&self) -> Vec<User> {
        self.read(Directory::people)
    }

    pub fn user(&self, name: &UserName) -> Option<User> {
        self.read(|d| d.user(name))
    }

    /// Whether `name` is a user of this desk: the one question every check on a person's name
    /// (an assignee, say) asks.
    pub fn is_user(&self, name: &UserName) -> bool {
        self.user(name).is_some()
    }

    /// The display name of a user, if known.
    pub fn display_name(&self, name: &UserName) -> Option<String> {
        self.user(name).map(|user| user.display_name)
    }

    /// Every token ever issued, live or revoked, without secrets or hashes.
    pub fn tokens(&self) -> Vec<TokenInfo> {
        self.read(Directory::tokens)
    }

    pub fn is_empty(&self) -> bool {
        self.read(Directory::is_empty)
    }

    /// Whether some admin has a live token.
    pub fn has_live_admin(&self) -> bool {
        self.read(|d| {
            d.tokens()
                .iter()
                .any(|t| t.revoked.is_none() && t.role == Role::Admin)
        })
    }

    pub fn is_demo_desk(&self) -> bool {
        self.read(Directory::is_demo_desk)
    }

    /// The demo users whose well-known token still works.
    pub fn live_demo_users(&self) -> Vec<User> {
        self.read(|d| {
            d.live_demo_users()
                .iter()
                .filter_map(|name| d.user(name))
                .collect()
        })
    }

    /// Resolves when `token` is revoked (at once if it already is). Subscribes before it
    /// returns, so a revocation between this call and the first poll is not missed.
    pub fn revoked(&self, token: &TokenId) -> impl Future<Output = ()> + Send + 'static {
        let users = self.clone();
        let token = token.clone();
        let mut changes = self.inner.revocations.subscribe();
        async move {
            while users.read(|d| d.is_live(&token)) {
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }

    /// Creates a user; `receipt`, if any, is logged in the same append.
    pub async fn create_user(
        &self,
        actor: &UserName,
        new: NewUser,
        receipt: Option<Receipt>,
    ) -> Result<User, AccessError> {
        let _write = self.inner.writes.lock().await;
        let name = new.name.clone();
        let event = self.user_created(new)?;
        self.append(actor, vec![event], receipt).await?;
        self.user(&name).ok_or(AccessError::UnknownUser(name))
    }

    /// Changes a user's role; every token of theirs carries the new role from the next request.
    pub async fn set_role(
        &self,
        actor: &UserName,
        name: &UserName,
        role: Role,
    ) -> Result<User, AccessError> {
        let _write = self.inner.writes.lock().await;
        let user = self
            .user(name)
            .ok_or_else(|| AccessError::UnknownUser(name.clone()))?;
        if user.role != role {
            let event = AccessEvent::UserRoleChanged {
                name: name.clone(),
                from: user.role,
                to: role,
            };
            self.append(actor, vec![event], None).await?;
        }
        self.user(name)
            .ok_or_else(|| AccessError::UnknownUser(name.clone()))
    }

    /// Issues a new token for an existing user; `receipt`, if any, is logged in the same append.
    pub async fn issue_token(
        &self,
        actor: &UserName,
        user: &UserName,
        receipt: Option<Receipt>,
    ) -> Result<IssuedToken, AccessError> {
        let _write = self.inner.writes.lock().await;
        if self.user(user).is_none() {
            return Err(AccessError::UnknownUser(user.clone()));
        }
        let (event, id, secret) = token_issued(user);
        self.append(actor, vec![event], receipt).await?;
        Ok(IssuedToken {
            info: self.token(&id)?,
            secret,
        })
    }

    /// Creates the user if there is none by that name, and issues a token for them: what
    /// `glossa token create` does. An existing user keeps their role; asking for another one
    /// is refused rather than silently changing or ignoring it.
    pub async fn issue_token_creating_user(
        &self,
        actor: &UserName,
        new: NewUser,
    ) -> Result<IssuedToken, AccessError> {
        let _write = self.inner.writes.lock().await;
        let mut events = Vec::new();
        match self.user(&new.name) {
            Some(user) if user.role != new.role => {
                return Err(AccessError::Invalid(format!(
                    "{} is already a user with the {:?} role; change roles with `glossa user role` \
                     or PATCH /api/users/{}",
                    user.name,
                    user.role,
                    user.name
                )))
            }
            Some(_) => {}
            None => events.push(self.user_created(new.clone())?),
        }
        let (issued, id, secret) = token_issued(&new.name);
        events.push(issued);
        self.append(actor, events, None).await?;
        Ok(IssuedToken {
            info: self.token(&id)?,
            secret,
        })
    }

    /// Revokes a token; revoking a revoked token changes nothing.
    pub async fn revoke(&self, actor: &UserName, id: &TokenId) -> Result<TokenInfo, AccessError> {
        let _write = self.inner.writes.lock().await;
        let info = self.token(id)?;
        if info.revoked.is_none() {
            let event = AccessEvent::TokenRevoked { token: id.clone() };
            self.append(actor, vec![event], None).await?;
        }
        self.token(id)
    }

    /// Appends events written by the desk itself (the demo users, the first admin); the
    /// caller has checked them against the directory.
    pub(super) async fn append_checked(
        &self,
        actor: &UserName,
        events: Vec<AccessEvent>,
    ) -> Result<(), AccessError> {
        let _write = self.inner.writes.lock().await;
        self.append(actor, events, None).await
    }

    /// The access event a keyed request wrote, from where its receipt is in the log: the
    /// receipt comes last in that append, so the event is the one just before it.
    pub fn written_with(&self, receipt_seq: u64) -> Result<Option<AccessEvent>, AccessError> {
        let Some(log) = &self.inner.log else {
            return Ok(None);
        };
        let before = receipt_seq
            .checked_sub(1)
            .map(|seq| log.get(seq))
            .transpose()?;
        Ok(before.flatten().as_ref().and_then(access_event))
    }

    pub fn token(&self, id: &TokenId) -> Result<TokenInfo, AccessError> {
        self.read(|d| d.token(id))
            .ok_or_else(|| AccessError::UnknownToken(id.clone()))
    }

    fn user_created(&self, new: NewUser) -> Result<AccessEvent, AccessError> {
        if new.name == UserName::system() {
            return Err(AccessError::Invalid(format!(
                "{} is the name the server writes under; choose another name",
                new.name
            )));
        }
        if self.user(&new.name).is_some() {
            return Err(AccessError::UserExists(new.name));
        }
        let display_name = match new.display_name {
            None => new.name.to_string(),
            Some(raw) => {
                let trimmed = raw.trim();
                if trimmed.is_empty() || trimmed.chars().count() > MAX_DISPLAY_NAME {
                    return Err(AccessError::Invalid(format!(
                        "display_name must be 1 to {MAX_DISPLAY_NAME} characters"
                    )));
                }
                trimmed.to_owned()
            }
        };
        Ok(AccessEvent::UserCreated {
            name: new.name,
            display_name,
            role: new.role,
        })
    }

    /// Appends, with the receipt of a keyed request last, and folds once durable. Holds the
    /// write lock (the callers take it).
    async fn append(
        &self,
        actor: &UserName,
        events: Vec<AccessEvent>,
        receipt: Option<Receipt>,
    ) -> Result<(), AccessError> {
        let log = self.inner.log.as_ref().ok_or_else(|| {
            AccessError::Invalid("this directory is read-only (it has no event log)".into())
        })?;
        let stream = StreamId::Access;
        let at = crate::clock::now();
        let new_events = own_events(&stream, actor, at, &events, receipt.as_ref());
        let version = log.stream_version(&stream)?;
        log.append(AppendRequest {
            events: new_events,
            expectations: vec![(stream.clone(), Expected::Exact(version))],
        })
        .await?;
        // Folds from the log, in order: these events, and any another process appended just
        // before them that the follower has not handed over yet (folding only ours would mark
        // those as folded without applying them: a revocation made on another server would
        // not hold here).
        let after = self
            .inner
            .folded_seq
            .load(std::sync::atomic::Ordering::Acquire);
        let records = log.read_stream(&stream, after)?;
        self.fold_appended(&records);
        Ok(())
    }
}

/// A new token for `user`: the event, its id and the secret.
fn token_issued(user: &UserName) -> (AccessEvent, TokenId, String) {
    let id = TokenId::random();
    let secret = new_secret();
    let event = AccessEvent::TokenIssued {
        token: id.clone(),
        user: user.clone(),
        sha256: hash(&secret),
        demo: false,
    };
    (event, id, secret)
}

/// The access event a record holds, if it is one this build knows.
pub fn access_event(record: &EventRecord) -> Option<AccessEvent> {
    if record.stream != StreamId::Access {
        return None;
    }
    serde_json::from_value(json!({ "type": record.event_type, "data": record.data })).ok()
}

/// The data of an event as it may leave the server: a token's hash is left out, unless it is a
/// demo token's (whose secret is public anyway, so a demo desk's dump restores a working demo).
pub fn public_data(record: &EventRecord) -> serde_json::Value {
    let mut data = record.data.clone();
    let demo = data.get("demo").and_then(serde_json::Value::as_bool) == Some(true);
    if record.stream == StreamId::Access && !demo {
        if let Some(fields) = data.as_object_mut() {
            fields.remove("sha256");
        }
    }
    data
}
