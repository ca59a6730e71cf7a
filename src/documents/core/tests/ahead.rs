//! REST edits decided ahead of the append in flight: held back until it commits, decided again
//! without it when it does not, and never while a peer could see them.

use super::races::{asked, assert_contiguous, commit, given_two_replicas, replayed};
use super::*;
use crate::documents::core::MAX_EDITS_PER_APPEND;
use crate::documents::error::DocError;
use crate::domain::Status;
use crate::store::Position;

fn request(ticket: u64, by: &str, edit: Edit) -> super::super::EditRequest {
    super::super::EditRequest {
        ticket,
        user: user(by),
        at: at(2),
        edit,
        receipt: None,
    }
}

fn answered(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply { ticket, .. } => Some(*ticket),
            _ => None,
        })
        .collect()
}

fn the_append(effects: &[Effect]) -> (super::super::AppendId, AppendRequest) {
    let appends: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Append { id, request, .. } => Some((*id, request.clone())),
            _ => None,
        })
        .collect();
    match appends.as_slice() {
        [one] => one.clone(),
        other => panic!("expected one append, got {other:?}"),
    }
}

fn document_version(log: &Log) -> u64 {
    let document = StreamId::Document(article());
    log.records.iter().filter(|r| r.stream == document).count() as u64
}

#[test]
fn edits_that_come_while_an_append_is_in_flight_are_decided_ahead_and_answered_after_it() {
    let (mut core, mut log) = (core(), Log::default());
    // Given bruno's create is being appended.
    let created = Edit::Create(create("a1", "bruno"));
    let (first, request_1, _) = asked(&mut core, edit(1, "bruno", created));
    assert!(core.decides_ahead());
    // When alice creates a2 and moves a1 on, at the version the create will leave it at.
    let effects = core.handle(Input::Edits(vec![
        request(2, "alice", Edit::Create(create("a2", "alice"))),
        request(3, "alice", set_status("a1", Some(1), Status::InReview)),
    ]));
    // And then moves a2 on, at the version her create will leave it at.
    assert!(core.decides_ahead());
    assert_eq!(core.edit_room(), MAX_EDITS_PER_APPEND - 2);
    let moved = set_status("a2", Some(1), Status::InReview);
    let later = core.handle(edit(4, "alice", moved));
    // Then nothing is said or asked while the create is in flight.
    assert!(
        effects.is_empty() && later.is_empty(),
        "{effects:?} {later:?}"
    );
    // When the create commits.
    let committed = log.append(&request_1).unwrap();
    let effects = core.handle(Input::Appended {
        id: first,
        outcome: AppendOutcome::Committed(committed),
    });
    // Then bruno is answered, and alice's edits are asked for in one append, at the versions
    // the create left.
    assert_eq!(answered(&effects), [1]);
    let (second, request_2) = the_append(&effects);
    assert_eq!(
        request_2.expectations,
        [
            (
                StreamId::Document(article()),
                Expected::Exact(document_version(&log))
            ),
            (StreamId::Annotation(id("a2")), Expected::NoStream),
            (StreamId::Annotation(id("a1")), Expected::Exact(1)),
        ]
    );
    // And once they commit, alice is answered with the versions they landed at.
    let effects = commit(&mut core, &mut log, second, &request_2);
    assert_eq!(answered(&effects), [2, 3, 4]);
    assert_eq!(written(&effects, 2).as_ref().unwrap().version, 1);
    assert_eq!(written(&effects, 3).as_ref().unwrap().version, 2);
    assert_eq!(written(&effects, 4).as_ref().unwrap().version, 2);
    assert_contiguous(&log);
    let logged = schema::read_all(&replayed(&log)).unwrap();
    let held = inspect(&mut core, &mut log).annotations;
    assert_eq!(logged, held);
    assert_eq!(held.len(), 2);
    assert!(held.iter().all(|a| a.status == Status::InReview));
}

#[test]
fn edits_decided_ahead_of_an_append_that_fails_are_decided_again_without_it() {
    let (mut core, mut log) = (core(), Log::default());
    let created = Edit::Create(create("a1", "bruno"));
    let (first, _, _) = asked(&mut core, edit(1, "bruno", created));
    // Given alice's edits were decided on top of the create in flight, one of them on a1.
    assert!(core.decides_ahead());
    let effects = core.handle(Input::Edits(vec![
        request(2, "alice", set_status("a1", None, Status::InReview)),
        request(3, "alice", Edit::Create(create("a2", "alice"))),
    ]));
    assert!(effects.is_empty(), "{effects:?}");
    // When the create's append fails.
    let effects = core.handle(Input::Appended {
        id: first,
        outcome: AppendOutcome::Failed(StoreError::Unavailable),
    });
    // Then bruno is told, alice's edit of a1 finds no a1, and her create is asked for on the
    // document as it was before the create.
    assert!(matches!(
        written(&effects, 1),
        Err(DocError::Store(StoreError::Unavailable))
    ));
    assert!(matches!(written(&effects, 2), Err(DocError::NotFound(_))));
    assert_eq!(answered(&effects), [1, 2]);
    let (again, request) = the_append(&effects);
    assert_eq!(
        request.expectations,
        [
            (StreamId::Document(article()), Expected::NoStream),
            (StreamId::Annotation(id("a2")), Expected::NoStream),
        ]
    );
    let effects = commit(&mut core, &mut log, again, &request);
    assert_eq!(written(&effects, 3).as_ref().unwrap().version, 1);
    let state = inspect(&mut core, &mut log);
    assert_eq!(
        state.annotations,
        schema::read_all(&replayed(&log)).unwrap()
    );
    assert_eq!(state.annotations.len(), 1);
    assert_eq!(state.annotations[0].id, id("a2"));
}

#[test]
fn edits_decided_ahead_of_an_append_that_lost_a_race_are_decided_again_after_it() {
    let (mut a, mut b, mut log) = given_two_replicas();
    // Given replica A's status change on a1 is being appended.
    let moved = set_status("a1", Some(1), Status::InReview);
    let (first, request_1, after_seq) = asked(&mut a, edit(2, "alice", moved));
    // And replica B created a2 meanwhile.
    let created = Edit::Create(create("a2", "bruno"));
    assert!(written(&feed(&mut b, &mut log, edit(1, "bruno", created)), 1).is_ok());
    // And A decided a create of a3 ahead.
    assert!(a.decides_ahead());
    let created = Edit::Create(create("a3", "carla"));
    assert!(a.handle(edit(3, "carla", created)).is_empty());
    // When A's append loses the race.
    assert!(log.append(&request_1).is_none());
    let theirs = log.theirs(&request_1, after_seq);
    let effects = a.handle(Input::Appended {
        id: first,
        outcome: AppendOutcome::Raced { theirs },
    });
    // Then only the status change is asked for again, and nothing more is decided ahead.
    assert!(answered(&effects).is_empty());
    let (again, request) = the_append(&effects);
    assert!(request
        .expectations
        .iter()
        .all(|(s, _)| s != &StreamId::Annotation(id("a3"))));
    assert!(!a.decides_ahead());
    // And once it commits, the create follows on the merged state.
    let effects = commit(&mut a, &mut log, again, &request);
    assert_eq!(answered(&effects), [2, 3]);
    assert!(written(&effects, 3).is_ok());
    assert_contiguous(&log);
    let state = inspect(&mut a, &mut log);
    assert_eq!(
        state.annotations,
        schema::read_all(&replayed(&log)).unwrap()
    );
    assert_eq!(state.annotations.len(), 3);
}

#[test]
fn no_edit_is_decided_ahead_while_a_peer_is_subscribed() {
    let (mut core, mut log) = (core(), Log::default());
    let mut alice = Peer::new(1, "alice", false);
    converge(&mut core, &mut log, &mut [&mut alice]);
    let created = Edit::Create(create("a1", "bruno"));
    let (first, request_1, _) = asked(&mut core, edit(1, "bruno", created));
    assert!(!core.decides_ahead());
    // When a second create comes while the first is in flight, and the first commits.
    let created = Edit::Create(create("a2", "bruno"));
    assert!(core.handle(edit(2, "bruno", created)).is_empty());
    let committed = log.append(&request_1).unwrap();
    let effects = core.handle(Input::Appended {
        id: first,
        outcome: AppendOutcome::Committed(committed),
    });
    // Then the peer hears of the first only: the second is not in the document yet.
    assert!(alice.hear(&effects));
    assert!(alice.annotation("a1").is_some());
    assert!(alice.annotation("a2").is_none());
    let (second, request_2) = the_append(&effects);
    let effects = commit(&mut core, &mut log, second, &request_2);
    assert!(written(&effects, 2).is_ok());
}

#[test]
fn an_append_that_lands_elsewhere_than_it_expected_sends_the_edits_decided_ahead_back() {
    let mut core = core();
    let created = Edit::Create(create("a1", "bruno"));
    let (first, request_1, _) = asked(&mut core, edit(1, "bruno", created));
    assert!(core.decides_ahead());
    let created = Edit::Create(create("a2", "bruno"));
    assert!(core.handle(edit(2, "bruno", created)).is_empty());
    // When the first append is reported at other versions than it expected (as a duplicate of
    // an earlier append would be).
    let positions = (0..request_1.events.len() as u64)
        .map(|i| Position {
            seq: 40 + i,
            version: 20 + i,
        })
        .collect();
    let effects = core.handle(Input::Appended {
        id: first,
        outcome: AppendOutcome::Committed(Committed {
            positions,
            duplicate: true,
        }),
    });
    // Then the second is decided again at the versions the log reported.
    let (_, request_2) = the_append(&effects);
    let document = StreamId::Document(article());
    let on_document = request_1.events.iter().rposition(|e| e.stream == document);
    let landed = 20 + on_document.unwrap() as u64;
    assert_eq!(
        request_2.expectations[0],
        (StreamId::Document(article()), Expected::Exact(landed))
    );
}

#[test]
fn the_cores_own_events_back_from_a_shared_log_do_not_hold_up_edits_decided_ahead() {
    let (mut core, mut log) = (core(), Log::default());
    let created = Edit::Create(create("a1", "bruno"));
    assert!(written(&feed(&mut core, &mut log, edit(1, "bruno", created)), 1).is_ok());
    let created = Edit::Create(create("a2", "bruno"));
    let (second, request_2, _) = asked(&mut core, edit(2, "bruno", created));
    // When the first create's events come back from the log while the second is in flight.
    let own = log.after(0);
    assert!(core.handle(Input::Foreign(own)).is_empty());
    // Then the edits that come next are still decided ahead of the second.
    assert!(core.decides_ahead());
    let created = Edit::Create(create("a3", "bruno"));
    assert!(core.handle(edit(3, "bruno", created)).is_empty());
    let effects = commit(&mut core, &mut log, second, &request_2);
    assert_eq!(answered(&effects), [2, 3]);
    assert_contiguous(&log);
}

/// Given a create in flight and, decided ahead of it, a create of the same annotation (refused)
/// and another create, when the first commits, then the refusal is answered once, after the
/// first's answer, and the other create is asked for; when the first fails instead, then both
/// of alice's creates are decided again without it, and both succeed.
#[test]
fn a_refusal_decided_ahead_is_answered_once_and_only_if_the_append_before_it_commits() {
    for fails in [false, true] {
        let (mut core, mut log) = (core(), Log::default());
        let created = Edit::Create(create("a1", "bruno"));
        let (first, request_1, _) = asked(&mut core, edit(1, "bruno", created));
        assert!(core.decides_ahead());
        let effects = core.handle(Input::Edits(vec![
            request(2, "alice", Edit::Create(create("a1", "alice"))),
            request(3, "alice", Edit::Create(create("a2", "alice"))),
        ]));
        assert!(effects.is_empty(), "{effects:?}");
        let outcome = if fails {
            AppendOutcome::Failed(StoreError::Unavailable)
        } else {
            AppendOutcome::Committed(log.append(&request_1).unwrap())
        };
        let effects = core.handle(Input::Appended { id: first, outcome });
        let (again, request_2) = the_append(&effects);
        if fails {
            assert_eq!(answered(&effects), [1], "fails: {fails}");
            let effects = commit(&mut core, &mut log, again, &request_2);
            assert_eq!(answered(&effects), [2, 3]);
            assert!(written(&effects, 2).is_ok() && written(&effects, 3).is_ok());
        } else {
            assert_eq!(answered(&effects), [1, 2], "fails: {fails}");
            assert!(matches!(
                written(&effects, 2),
                Err(DocError::AlreadyExists(_))
            ));
            let effects = commit(&mut core, &mut log, again, &request_2);
            assert_eq!(answered(&effects), [3]);
            assert!(written(&effects, 3).is_ok());
        }
        assert_contiguous(&log);
        let state = inspect(&mut core, &mut log);
        assert_eq!(
            state.annotations,
            schema::read_all(&replayed(&log)).unwrap()
        );
        assert_eq!(state.annotations.len(), 2);
    }
}
