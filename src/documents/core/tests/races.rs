//! Two cores over one log, as two replicas: an append that loses a race merges the winner's
//! events, re-validates, re-derives and asks again; changes appended elsewhere reach the peers.

use super::super::{AppendId, EditRequest};
use super::*;
use crate::documents::error::DocError;
use crate::domain::{Reply, Status};
use automerge::transaction::Transactable;

/// Given two replicas that both loaded annotation a1 from the log.
pub(super) fn given_two_replicas() -> (DocumentCore, DocumentCore, Log) {
    let (mut a, mut b, mut log) = (core(), core(), Log::default());
    let effects = feed(
        &mut a,
        &mut log,
        edit(1, "bruno", Edit::Create(create("a1", "bruno"))),
    );
    assert!(written(&effects, 1).is_ok());
    let theirs = log.after(0);
    feed(&mut b, &mut log, Input::Foreign(theirs));
    assert_eq!(inspect(&mut b, &mut log).annotations.len(), 1);
    (a, b, log)
}

fn reply(name: &str, by: &str) -> Edit {
    Edit::AddReply {
        id: id("a1"),
        reply: Reply {
            id: crate::domain::ReplyId::parse(name).unwrap(),
            parent: None,
            creator: user(by),
            created: at(3),
            text: format!("a reply from {by}"),
        },
    }
}

/// Every stream's versions in the log run 1, 2, 3… with no gap or repeat.
pub(super) fn assert_contiguous(log: &Log) {
    let mut versions: HashMap<&StreamId, u64> = HashMap::new();
    for record in &log.records {
        let last = versions.entry(&record.stream).or_default();
        assert_eq!(
            record.version,
            *last + 1,
            "{} at {}",
            record.stream,
            record.seq
        );
        *last = record.version;
    }
}

#[test]
fn a_rest_edit_that_lost_a_race_is_merged_and_logged_on_the_winners_state() {
    let (mut a, mut b, mut log) = given_two_replicas();
    // Given replica B resolved a1 (A has not seen it).
    let effects = feed(
        &mut b,
        &mut log,
        edit(2, "alice", set_status("a1", None, Status::InReview)),
    );
    assert!(written(&effects, 2).is_ok());
    // When A adds a reply.
    let effects = feed(&mut a, &mut log, edit(3, "chiara", reply("r1", "chiara")));
    // Then A's edit is logged after B's, on the merged state, at the next version.
    let written = written(&effects, 3).as_ref().unwrap();
    assert_eq!(written.annotation.status, Status::InReview);
    assert_eq!(written.annotation.replies.len(), 1);
    assert_eq!(written.version, 3);
    assert_contiguous(&log);
    let state = inspect(&mut a, &mut log);
    assert_eq!(state.annotations[0].status, Status::InReview);
    // And B, fed what A appended, holds the same document.
    let seen = b.stream_state().seq;
    let theirs = log.after(seen);
    feed(&mut b, &mut log, Input::Foreign(theirs));
    assert_eq!(inspect(&mut b, &mut log).heads, state.heads);
}

#[test]
fn a_stale_if_match_is_still_refused_after_a_lost_race() {
    let (mut a, mut b, mut log) = given_two_replicas();
    feed(
        &mut b,
        &mut log,
        edit(2, "alice", set_status("a1", Some(1), Status::InReview)),
    );
    // When A deletes a1 at the version it knew.
    let effects = feed(&mut a, &mut log, edit(3, "bruno", delete("a1", Some(1))));
    // Then, having merged B's change, A refuses it as stale and writes nothing.
    assert!(matches!(
        written(&effects, 3),
        Err(DocError::VersionMismatch {
            expected: 1,
            actual: 2
        })
    ));
    assert!(!log.types().contains(&"annotation.deleted"));
}

#[test]
fn a_peers_change_that_lost_a_race_with_a_valid_one_keeps_both() {
    let (mut a, mut b, mut log) = given_two_replicas();
    let mut typist = Peer::new(1, "bruno", false);
    converge(&mut a, &mut log, &mut [&mut typist]);
    // Given B assigned a1 meanwhile.
    feed(
        &mut b,
        &mut log,
        edit(
            2,
            "alice",
            Edit::Assign {
                id: id("a1"),
                expected: None,
                assignee: Some(user("chiara")),
            },
        ),
    );
    // When the typist on A changes the note.
    let before = typist.annotation("a1").unwrap();
    let mut typed = before.clone();
    typed.body = "Moscow denied it on Friday.".into();
    typist.write(Some(&before), &typed);
    converge(&mut a, &mut log, &mut [&mut typist]);
    // Then both changes stand, in the log, in A and in the typist's copy.
    let seen = typist.annotation("a1").unwrap();
    assert_eq!(seen.body, "Moscow denied it on Friday.");
    assert_eq!(seen.assignee, Some(user("chiara")));
    assert!(!log.types().contains(&"change.rejected"));
    assert_contiguous(&log);
    assert_eq!(inspect(&mut a, &mut log).annotations[0].body, seen.body);
}

#[test]
fn a_peers_change_that_lost_a_race_with_a_delete_is_compensated_on_the_merged_state() {
    let (mut a, mut b, mut log) = given_two_replicas();
    let mut typist = Peer::new(1, "bruno", false);
    converge(&mut a, &mut log, &mut [&mut typist]);
    // Given B deleted a1 meanwhile.
    feed(&mut b, &mut log, edit(2, "bruno", delete("a1", None)));
    // When the typist on A, who has not heard, changes the note.
    let before = typist.annotation("a1").unwrap();
    let mut typed = before.clone();
    typed.body = "Moscow denied it on Friday.".into();
    typist.write(Some(&before), &typed);
    converge(&mut a, &mut log, &mut [&mut typist]);
    // Then the change is re-validated on the merged state: a deleted annotation cannot change.
    let rejected: Vec<_> = log
        .records
        .iter()
        .filter(|r| r.event_type == "change.rejected")
        .collect();
    assert_eq!(rejected.len(), 1, "{:?}", log.types());
    assert!(rejected[0].data["reason"]
        .as_str()
        .unwrap()
        .contains("deleted"));
    let seen = typist.annotation("a1").unwrap();
    assert!(seen.deleted);
    assert_eq!(seen.body, "Moscow denied it.");
    assert_contiguous(&log);
}

/// The document the log's changes make, applied in order.
pub(super) fn replayed(log: &Log) -> Automerge {
    let mut doc = Automerge::new();
    for record in &log.records {
        if let Some(bytes) = &record.change {
            doc.apply_changes([automerge::Change::from_bytes(bytes.clone()).unwrap()])
                .unwrap();
        }
    }
    doc
}

/// Replays the log's changes in order, as a follower would: every `document.changed` records
/// the heads the document has right after its change.
fn assert_heads_recorded(log: &Log) {
    let mut doc = Automerge::new();
    for record in &log.records {
        let Some(bytes) = &record.change else {
            continue;
        };
        doc.apply_changes([automerge::Change::from_bytes(bytes.clone()).unwrap()])
            .unwrap();
        let mut now: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
        let mut recorded: Vec<String> =
            serde_json::from_value(record.data["heads"].clone()).unwrap();
        now.sort();
        recorded.sort();
        assert_eq!(recorded, now, "the heads recorded at {}", record.seq);
    }
}

/// Asks `core` for `input` and returns the append it asks for.
pub(super) fn asked(core: &mut DocumentCore, input: Input) -> (AppendId, AppendRequest, u64) {
    let effects = core.handle(input);
    match effects.into_iter().next() {
        Some(Effect::Append {
            id,
            request,
            after_seq,
        }) => (id, request, after_seq),
        other => panic!("expected an append, got {other:?}"),
    }
}

/// Feeds `input` to `core` and has its append lose to what the log holds; returns what it first
/// asked for, and the append it asks for after the lost race.
fn lost_once(
    core: &mut DocumentCore,
    log: &mut Log,
    input: Input,
) -> (AppendRequest, AppendId, AppendRequest) {
    let (id, first, after_seq) = asked(core, input);
    assert!(log.append(&first).is_none(), "the first try must lose");
    let theirs = log.theirs(&first, after_seq);
    let outcome = AppendOutcome::Raced { theirs };
    let (again_id, again, _) = asked(core, Input::Appended { id, outcome });
    (first, again_id, again)
}

/// Commits `request`, which `core` asked for as `id`; returns what the core does then.
pub(super) fn commit(
    core: &mut DocumentCore,
    log: &mut Log,
    id: AppendId,
    request: &AppendRequest,
) -> Vec<Effect> {
    let committed = log.append(request).expect("the try commits");
    let outcome = AppendOutcome::Committed(committed);
    feed(core, log, Input::Appended { id, outcome })
}

fn ids(request: &AppendRequest) -> Vec<crate::domain::EventId> {
    request.events.iter().map(|e| e.id).collect()
}

#[test]
fn edits_that_lost_a_race_to_other_annotations_are_logged_as_they_were_made() {
    let (mut a, mut b, mut log) = given_two_replicas();
    // Given B created a2, which A has not seen.
    let effects = feed(
        &mut b,
        &mut log,
        edit(2, "alice", Edit::Create(create("a2", "alice"))),
    );
    assert!(written(&effects, 2).is_ok());
    // When A creates a3 and replies on a1 in one batch, and loses the race.
    let batch = Input::Edits(vec![
        EditRequest {
            ticket: 3,
            user: user("chiara"),
            at: at(2),
            edit: Edit::Create(create("a3", "chiara")),
            receipt: None,
        },
        EditRequest {
            ticket: 4,
            user: user("chiara"),
            at: at(2),
            edit: reply("r1", "chiara"),
            receipt: None,
        },
    ]);
    let (first, retry, again) = lost_once(&mut a, &mut log, batch);
    // Then A asks again with the very events it made, B's changes merged under them…
    assert_eq!(ids(&again), ids(&first));
    let effects = commit(&mut a, &mut log, retry, &again);
    assert!(written(&effects, 3).is_ok());
    assert_eq!(
        written(&effects, 4)
            .as_ref()
            .unwrap()
            .annotation
            .replies
            .len(),
        1
    );
    // …and the log reads as if A had seen B's changes: versions run on, heads add up.
    assert_contiguous(&log);
    assert_heads_recorded(&log);
    let state = inspect(&mut a, &mut log);
    assert_eq!(state.annotations.len(), 3);
    let seen = b.stream_state().seq;
    let theirs = log.after(seen);
    feed(&mut b, &mut log, Input::Foreign(theirs));
    assert_eq!(inspect(&mut b, &mut log).heads, state.heads);
}

#[test]
fn a_create_that_lost_the_last_room_in_a_race_is_refused_on_the_merged_state() {
    let limits = ContentLimits {
        max_annotations_per_article: 2,
        ..ContentLimits::default()
    };
    let (mut a, mut b, mut log) = (core_with(limits), core_with(limits), Log::default());
    feed(
        &mut a,
        &mut log,
        edit(1, "bruno", Edit::Create(create("a1", "bruno"))),
    );
    let theirs = log.after(0);
    feed(&mut b, &mut log, Input::Foreign(theirs));
    // Given B took the article's last room, with a2.
    let effects = feed(
        &mut b,
        &mut log,
        edit(2, "alice", Edit::Create(create("a2", "alice"))),
    );
    assert!(written(&effects, 2).is_ok());
    // When A, not knowing, creates a3.
    let logged = log.records.len();
    let effects = feed(
        &mut a,
        &mut log,
        edit(3, "chiara", Edit::Create(create("a3", "chiara"))),
    );
    // Then the merge shows there is no room: A decides again and refuses, logging nothing.
    let refused = written(&effects, 3).as_ref().unwrap_err().to_string();
    assert!(refused.contains("limit of 2"), "{refused}");
    let state = inspect(&mut a, &mut log);
    let names: Vec<&str> = state.annotations.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(names, ["a1", "a2"]);
    let a3 = StreamId::Annotation(id("a3"));
    assert!(log.records.iter().all(|r| r.stream != a3));
    assert_eq!(log.records.len(), logged);
    assert_contiguous(&log);
    assert_heads_recorded(&log);
}

#[test]
fn after_too_many_lost_races_the_caller_is_told_the_document_is_busy() {
    let mut a = core();
    let mut effects = a.handle(edit(1, "bruno", Edit::Create(create("a1", "bruno"))));
    for _ in 0..super::super::MAX_ATTEMPTS {
        let Some(Effect::Append { id, .. }) = effects.first() else {
            panic!("expected another try, got {effects:?}");
        };
        effects = a.handle(Input::Appended {
            id: *id,
            outcome: AppendOutcome::Raced { theirs: Vec::new() },
        });
    }
    assert!(matches!(written(&effects, 1), Err(DocError::Contended)));
    assert!(inspect(&mut a, &mut Log::default()).annotations.is_empty());
}

#[test]
fn changes_appended_elsewhere_reach_this_replicas_peers() {
    let (mut a, mut b, mut log) = given_two_replicas();
    let mut reader = Peer::new(1, "chiara", false);
    converge(&mut a, &mut log, &mut [&mut reader]);
    // When B creates a2 and A is handed what B appended.
    let seen = a.stream_state().seq;
    feed(
        &mut b,
        &mut log,
        edit(2, "alice", Edit::Create(create("a2", "alice"))),
    );
    let theirs = log.after(seen);
    let effects = feed(&mut a, &mut log, Input::Foreign(theirs));
    // Then A's peer is sent it, and A holds it, at the version B logged.
    assert_eq!(synced(&effects), [reader.info.conn]);
    reader.hear(&effects);
    converge(&mut a, &mut log, &mut [&mut reader]);
    assert!(reader.annotation("a2").is_some());
    assert_eq!(inspect(&mut a, &mut log).annotations.len(), 2);
    let effects = feed(&mut a, &mut log, edit(3, "alice", delete("a2", Some(1))));
    assert_eq!(written(&effects, 3).as_ref().unwrap().version, 2);
    // And nothing is applied twice when the same events come again.
    let again = log.after(0);
    assert!(feed(&mut a, &mut log, Input::Foreign(again)).is_empty());
}

#[test]
fn a_lost_race_whose_merge_outvotes_the_work_is_decided_again() {
    let (mut a, mut b, mut log) = given_two_replicas();
    // Given a typist on B wrote a1's status as nonsense, which B compensated: two changes to
    // a1's status that leave it as it was and move only the document's stream.
    let mut typist = Peer::new(1, "bruno", false);
    converge(&mut b, &mut log, &mut [&mut typist]);
    let mut tx = typist.doc.transaction();
    let (_, map) = tx.get(ROOT, schema::ANNOTATIONS).unwrap().unwrap();
    let (_, entry) = tx.get(&map, "a1").unwrap().unwrap();
    tx.put(&entry, "status", "settled-by-shouting").unwrap();
    tx.commit();
    let a1 = StreamId::Annotation(id("a1"));
    let on_a1 = log.records.iter().filter(|r| r.stream == a1).count();
    converge(&mut b, &mut log, &mut [&mut typist]);
    assert!(log.types().contains(&"change.rejected"));
    assert_eq!(log.records.iter().filter(|r| r.stream == a1).count(), on_a1);
    // When A, not knowing, moves a1 to review and loses the race: the compensation, made
    // after the typist's write, outvotes A's concurrent one in the merge.
    let review = edit(2, "alice", set_status("a1", None, Status::InReview));
    let (first, retry, again) = lost_once(&mut a, &mut log, review);
    // Then A decides its edit again on the merged state, as a new change…
    assert_ne!(ids(&again), ids(&first), "the work is made again");
    let effects = commit(&mut a, &mut log, retry, &again);
    // …and what A answered, what A holds and what the log replays agree.
    let answered = written(&effects, 2).as_ref().unwrap().annotation.status;
    assert_eq!(answered, Status::InReview);
    assert_eq!(
        inspect(&mut a, &mut log).annotations[0].status,
        Status::InReview
    );
    let replayed = schema::read_one(&replayed(&log), &id("a1"))
        .unwrap()
        .unwrap();
    assert_eq!(replayed.status, Status::InReview);
    assert!(log.types().contains(&"annotation.status_changed"));
    assert_contiguous(&log);
    assert_heads_recorded(&log);
}

#[test]
fn what_a_lost_race_merged_reaches_the_peers_even_when_the_next_try_fails() {
    let (mut a, mut b, mut log) = given_two_replicas();
    let mut reader = Peer::new(1, "chiara", false);
    converge(&mut a, &mut log, &mut [&mut reader]);
    // Given B created a2, which A has not seen.
    feed(
        &mut b,
        &mut log,
        edit(2, "alice", Edit::Create(create("a2", "alice"))),
    );
    // When A's create of a3 loses the race, merges B's change, and its next try fails.
    let create_a3 = edit(3, "chiara", Edit::Create(create("a3", "chiara")));
    let (_, retry, _) = lost_once(&mut a, &mut log, create_a3);
    let effects = a.handle(Input::Appended {
        id: retry,
        outcome: AppendOutcome::Failed(crate::store::StoreError::Unavailable),
    });
    // Then the caller is told why, and A's peer gets B's logged a2, never the unlogged a3.
    assert!(matches!(
        written(&effects, 3),
        Err(DocError::Store(crate::store::StoreError::Unavailable))
    ));
    reader.hear(&effects);
    converge(&mut a, &mut log, &mut [&mut reader]);
    assert!(
        reader.annotation("a2").is_some(),
        "the merged change is passed on"
    );
    assert!(reader.annotation("a3").is_none());
}
