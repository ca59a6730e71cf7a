//! Given/when/then tests of the document core, with no store and no sockets: an in-memory log
//! that checks expected versions like the real one, Automerge documents as peers, and, for
//! races, two cores over one log as two replicas would be.

mod ahead;
mod edits;
mod races;
mod sync;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use automerge::sync::{self as am_sync, SyncDoc};
use automerge::{Automerge, ReadDoc, ROOT};
use chrono::{DateTime, TimeZone, Utc};

use super::Answer;
use super::{AppendOutcome, DocumentCore, Effect, Input, Library, PeerInfo, StreamState};
use crate::documents::{schema, ConnId, Edit, Outbound, Rules, Written};
use crate::domain::commands::{self, Create};
use crate::domain::{
    Annotation, AnnotationId, ArticleId, Content, ContentLimits, Kind, StreamId, Target,
    TextPosition, TextQuote, UserName,
};
use crate::store::{
    AnchorRow, AppendRequest, Committed, EventRecord, Expected, Position, StoreError,
};

pub(super) const ARTICLE: &str = "pledge";
pub(super) const V1: &str = "Leaders met in Paris. 26 nations have pledged troops to Ukraine.";
pub(super) const V2: &str =
    "Leaders met in Paris on Thursday. 26 nations have pledged troops to Ukraine.";

pub(super) fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 4, 12, minute, 0).unwrap()
}

pub(super) fn user(name: &str) -> UserName {
    UserName::parse(name).unwrap()
}

pub(super) fn id(name: &str) -> AnnotationId {
    AnnotationId::parse(name).unwrap()
}

pub(super) fn article() -> ArticleId {
    ArticleId::parse(ARTICLE).unwrap()
}

/// The published texts of the article.
#[derive(Default)]
pub(super) struct Texts;

impl Library for Texts {
    fn article_text(
        &self,
        article: &ArticleId,
        version: u32,
    ) -> Result<Option<String>, StoreError> {
        Ok(match (article.as_str(), version) {
            (ARTICLE, 1) => Some(V1.to_owned()),
            (ARTICLE, 2) => Some(V2.to_owned()),
            _ => None,
        })
    }

    fn anchors(&self, _: &AnnotationId) -> Result<Vec<AnchorRow>, StoreError> {
        Ok(Vec::new())
    }
}

/// A log in memory that keeps expected versions as the store does.
#[derive(Default)]
pub(super) struct Log {
    pub(super) records: Vec<EventRecord>,
    versions: HashMap<StreamId, u64>,
}

impl Log {
    fn version(&self, stream: &StreamId) -> u64 {
        self.versions.get(stream).copied().unwrap_or(0)
    }

    /// Appends atomically, or refuses if a stream is not where the request expects it.
    pub(super) fn append(&mut self, request: &AppendRequest) -> Option<Committed> {
        for (stream, expected) in &request.expectations {
            let actual = self.version(stream);
            let ok = match expected {
                Expected::Any => true,
                Expected::NoStream => actual == 0,
                Expected::Exact(version) => actual == *version,
            };
            if !ok {
                return None;
            }
        }
        let mut positions = Vec::new();
        for event in &request.events {
            let version = self.version(&event.stream) + 1;
            self.versions.insert(event.stream.clone(), version);
            let seq = self.records.len() as u64 + 1;
            positions.push(Position { seq, version });
            self.records.push(EventRecord::landed(event, seq, version));
        }
        Some(Committed {
            positions,
            duplicate: false,
        })
    }

    /// The records of the request's streams a writer lacks, as the task reads them.
    fn theirs(&self, request: &AppendRequest, after_seq: u64) -> Vec<EventRecord> {
        self.records
            .iter()
            .filter(|r| {
                request.expectations.iter().any(|(stream, expected)| {
                    let (after, seen) = super::unseen(stream, *expected, after_seq);
                    &r.stream == stream && r.seq > after && r.version > seen
                })
            })
            .cloned()
            .collect()
    }

    pub(super) fn types(&self) -> Vec<&str> {
        self.records.iter().map(|r| r.event_type.as_str()).collect()
    }

    /// The records after `seq`, as a follower of the log would hand them over.
    pub(super) fn after(&self, seq: u64) -> Vec<EventRecord> {
        self.records
            .iter()
            .filter(|r| r.seq > seq)
            .cloned()
            .collect()
    }
}

pub(super) fn core() -> DocumentCore {
    core_with(ContentLimits::default())
}

pub(super) fn core_with(limits: ContentLimits) -> DocumentCore {
    let rules = Arc::new(Rules {
        limits,
        people: None,
    });
    DocumentCore::new(
        article(),
        Automerge::new(),
        StreamState::default(),
        rules,
        Arc::new(Texts),
    )
    .unwrap()
}

/// Feeds an input and carries out its appends against the log, as the task does; returns the
/// other effects, in order.
pub(super) fn feed(core: &mut DocumentCore, log: &mut Log, input: Input) -> Vec<Effect> {
    let mut out = Vec::new();
    let mut inputs = VecDeque::from([input]);
    while let Some(input) = inputs.pop_front() {
        for effect in core.handle(input) {
            match effect {
                Effect::Append {
                    id,
                    request,
                    after_seq,
                } => {
                    let outcome = match log.append(&request) {
                        Some(committed) => AppendOutcome::Committed(committed),
                        None => AppendOutcome::Raced {
                            theirs: log.theirs(&request, after_seq),
                        },
                    };
                    inputs.push_back(Input::Appended { id, outcome });
                }
                other => out.push(other),
            }
        }
    }
    out
}

pub(super) fn target(version: u32, text: &str, exact: &str) -> Target {
    let start = text[..text.find(exact).unwrap()].chars().count() as u64;
    Target {
        article: article(),
        version,
        quote: TextQuote {
            exact: exact.into(),
            prefix: String::new(),
            suffix: String::new(),
        },
        position: TextPosition {
            start,
            end: start + exact.chars().count() as u64,
        },
    }
}

pub(super) fn fact_check(name: &str, creator: &str) -> Annotation {
    commands::create(create(name, creator), &ContentLimits::default()).unwrap()
}

pub(super) fn create(name: &str, creator: &str) -> Create {
    Create {
        id: id(name),
        creator: user(creator),
        now: at(0),
        content: Content {
            kind: Kind::FactCheck,
            body: "Moscow denied it.".into(),
            verdict: Some(crate::domain::Verdict::False),
            suggestion: None,
            edit_label: None,
            claim: None,
            sources: vec![],
            tags: vec![],
            targets: vec![target(1, V1, "26 nations have pledged")],
        },
        assignee: None,
        canonical: None,
        via: None,
    }
}

pub(super) fn delete(name: &str, expected: Option<u64>) -> Edit {
    Edit::Delete {
        id: id(name),
        expected,
    }
}

pub(super) fn set_status(name: &str, expected: Option<u64>, to: crate::domain::Status) -> Edit {
    Edit::SetStatus {
        id: id(name),
        expected,
        to,
    }
}

/// A REST edit by `by`, answered with ticket `ticket`.
pub(super) fn edit(ticket: u64, by: &str, edit: Edit) -> Input {
    Input::Edits(vec![super::EditRequest {
        ticket,
        user: user(by),
        at: at(1),
        edit,
        receipt: None,
    }])
}

/// The answer to a REST edit among the effects.
pub(super) fn written(
    effects: &[Effect],
    ticket: u64,
) -> &Result<Written, crate::documents::DocError> {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Reply {
                ticket: t,
                answer: Answer::Written(result),
            } if *t == ticket => Some(result),
            _ => None,
        })
        .expect("the edit was answered")
}

/// The connections sent a sync message among the effects.
pub(super) fn synced(effects: &[Effect]) -> Vec<ConnId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                conn,
                message: Outbound::Sync { .. },
            } => Some(*conn),
            _ => None,
        })
        .collect()
}

/// A sync client: its own document and sync state with the server.
pub(super) struct Peer {
    pub(super) info: PeerInfo,
    pub(super) doc: Automerge,
    state: am_sync::State,
    pub(super) errors: Vec<String>,
    pub(super) closed: Option<String>,
}

impl Peer {
    pub(super) fn new(conn: ConnId, name: &str, read_only: bool) -> Self {
        Self {
            info: PeerInfo {
                conn,
                user: user(name),
                read_only,
                document_id: "doc".into(),
            },
            doc: Automerge::new(),
            state: am_sync::State::new(),
            errors: Vec::new(),
            closed: None,
        }
    }

    /// Its next sync message, as an input for the core.
    pub(super) fn say(&mut self) -> Option<Input> {
        let message = self.doc.generate_sync_message(&mut self.state)?;
        Some(Input::Sync {
            peer: self.info.clone(),
            message: Box::new(message),
            at: at(2),
        })
    }

    /// Takes what the core sent this peer.
    pub(super) fn hear(&mut self, effects: &[Effect]) -> bool {
        let mut heard = false;
        for effect in effects {
            match effect {
                Effect::Send { conn, message } if *conn == self.info.conn => {
                    heard = true;
                    match message {
                        Outbound::Sync { data, .. } => {
                            let message = am_sync::Message::decode(data).unwrap();
                            self.doc
                                .receive_sync_message(&mut self.state, message)
                                .unwrap();
                        }
                        Outbound::Error(m) => self.errors.push(m.clone()),
                        Outbound::Close(m) => self.closed = Some(m.clone()),
                        Outbound::Presence(_) => {}
                    }
                }
                Effect::Disconnect { conn, reason } if *conn == self.info.conn => {
                    self.closed = Some(reason.clone())
                }
                _ => {}
            }
        }
        heard
    }

    /// Writes an annotation into its own document, as a client would.
    pub(super) fn write(&mut self, before: Option<&Annotation>, after: &Annotation) {
        let mut tx = self.doc.transaction();
        let (_, map) = tx.get(ROOT, schema::ANNOTATIONS).unwrap().unwrap();
        schema::write_annotation(&mut tx, &map, before, after).unwrap();
        tx.commit();
    }

    pub(super) fn annotation(&self, name: &str) -> Option<Annotation> {
        schema::read_one(&self.doc, &id(name)).unwrap()
    }
}

/// Syncs peers with the core until nobody has anything to say; returns every effect seen.
pub(super) fn converge(
    core: &mut DocumentCore,
    log: &mut Log,
    peers: &mut [&mut Peer],
) -> Vec<Effect> {
    let mut seen = Vec::new();
    for _ in 0..100 {
        let mut progressed = false;
        for i in 0..peers.len() {
            if peers[i].closed.is_some() {
                continue;
            }
            let Some(input) = peers[i].say() else {
                continue;
            };
            progressed = true;
            let effects = feed(core, log, input);
            for peer in peers.iter_mut() {
                peer.hear(&effects);
            }
            seen.extend(effects);
        }
        if !progressed {
            return seen;
        }
    }
    panic!("the peers and the core never settled: {:?}", log.types());
}

/// What the core holds, through an inspection.
pub(super) fn inspect(core: &mut DocumentCore, log: &mut Log) -> crate::documents::DocState {
    let effects = feed(core, log, Input::Inspect { ticket: 999 });
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Reply {
                answer: Answer::Inspected(state),
                ..
            } => Some(*state),
            _ => None,
        })
        .expect("inspected")
}
