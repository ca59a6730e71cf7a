//! Peers' changes: accepted, compensated, refused for viewers, and fanned out only once durable.

use super::*;
use crate::domain::Status;

/// Given a core with two peers (alice and bruno) that hold the document.
fn given_two_peers() -> (DocumentCore, Log, Peer, Peer) {
    let (mut core, mut log) = (core(), Log::default());
    let (mut alice, mut bruno) = (Peer::new(1, "alice", false), Peer::new(2, "bruno", false));
    converge(&mut core, &mut log, &mut [&mut alice, &mut bruno]);
    assert_eq!(
        log.types(),
        ["document.changed"],
        "the document was initialised once"
    );
    (core, log, alice, bruno)
}

#[test]
fn a_valid_change_is_appended_with_its_events_before_any_peer_hears_of_it() {
    let (mut core, mut log, mut alice, mut bruno) = given_two_peers();
    // When alice creates an annotation in her copy and syncs (the protocol may take a round
    // or two before her change travels).
    alice.write(None, &fact_check("a1", "alice"));
    let (append, request) = loop {
        let input = alice.say().expect("alice has something to say");
        let effects = core.handle(input);
        let append = effects.iter().find_map(|e| match e {
            Effect::Append { id, request, .. } => Some((*id, request.clone())),
            _ => None,
        });
        if let Some(append) = append {
            // Then the core asks for one append and tells nobody anything meanwhile.
            assert_eq!(effects.len(), 1, "{effects:?}");
            break append;
        }
        // Until then only alice hears from the core.
        assert!(synced(&effects).iter().all(|c| *c == alice.info.conn));
        alice.hear(&effects);
    };
    let request = &request;
    let types: Vec<_> = request
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(types, ["document.changed", "annotation.created"]);
    assert!(request
        .expectations
        .contains(&(StreamId::Document(article()), Expected::Exact(1))));
    assert!(request
        .expectations
        .contains(&(StreamId::Annotation(id("a1")), Expected::NoStream)));
    // When it commits, then both peers are sent what they lack, and bruno gets the annotation.
    let committed = log.append(request).unwrap();
    let effects = core.handle(Input::Appended {
        id: append,
        outcome: AppendOutcome::Committed(committed),
    });
    assert_eq!(synced(&effects).len(), 2, "{effects:?}");
    bruno.hear(&effects);
    converge(&mut core, &mut log, &mut [&mut alice, &mut bruno]);
    assert_eq!(bruno.annotation("a1").unwrap().creator, user("alice"));
    assert_eq!(inspect(&mut core, &mut log).annotations.len(), 1);
}

#[test]
fn an_invalid_field_is_put_back_and_recorded_while_the_valid_ones_stay() {
    let (mut core, mut log, mut alice, mut bruno) = given_two_peers();
    let original = fact_check("a1", "alice");
    alice.write(None, &original);
    converge(&mut core, &mut log, &mut [&mut alice, &mut bruno]);
    // When bruno changes the note and, against the workflow, resolves it straight away.
    let mut changed = original.clone();
    changed.body = "Moscow denied it twice.".into();
    changed.status = Status::Resolved;
    bruno.write(Some(&original), &changed);
    converge(&mut core, &mut log, &mut [&mut alice, &mut bruno]);
    // Then the status is put back everywhere, the note stays, and the log says why.
    assert!(
        log.types().contains(&"change.rejected"),
        "{:?}",
        log.types()
    );
    for peer in [&alice, &bruno] {
        let seen = peer.annotation("a1").unwrap();
        assert_eq!(seen.status, Status::Open);
        assert_eq!(seen.body, "Moscow denied it twice.");
    }
    let state = inspect(&mut core, &mut log);
    assert_eq!(state.annotations[0].body, "Moscow denied it twice.");
    assert_eq!(state.annotations[0].status, Status::Open);
}

#[test]
fn a_viewers_changes_are_never_applied_and_it_is_told_so() {
    let (mut core, mut log, mut alice, _) = given_two_peers();
    let mut viewer = Peer::new(3, "victor", true);
    converge(&mut core, &mut log, &mut [&mut viewer]);
    let before = log.records.len();
    // When the viewer creates an annotation in its copy.
    viewer.write(None, &fact_check("v1", "victor"));
    let effects = converge(&mut core, &mut log, &mut [&mut viewer, &mut alice]);
    // Then nothing is appended, nobody gets it, and the viewer is told why.
    assert_eq!(log.records.len(), before);
    assert!(alice.annotation("v1").is_none());
    assert!(inspect(&mut core, &mut log).annotations.is_empty());
    assert!(
        viewer.errors.iter().any(|e| e.contains("read-only")),
        "{effects:?}"
    );
}

#[test]
fn a_peer_that_falls_behind_is_dropped_and_hears_nothing_more() {
    let (mut core, mut log, mut alice, bruno) = given_two_peers();
    // When bruno's queue is reported full.
    let effects = feed(
        &mut core,
        &mut log,
        Input::Behind {
            conn: bruno.info.conn,
        },
    );
    // Then bruno is disconnected, and later changes go to alice alone.
    assert!(
        matches!(effects.as_slice(), [Effect::Disconnect { conn: 2, .. }]),
        "{effects:?}"
    );
    assert_eq!(core.peer_count(), 1);
    let effects = feed(
        &mut core,
        &mut log,
        edit(7, "alice", Edit::Create(create("a1", "alice"))),
    );
    assert!(written(&effects, 7).is_ok());
    assert_eq!(synced(&effects), [alice.info.conn]);
    alice.hear(&effects);
    converge(&mut core, &mut log, &mut [&mut alice]);
    assert!(alice.annotation("a1").is_some());
}

#[test]
fn a_peers_change_to_a_status_it_cannot_reach_is_compensated() {
    let (mut core, mut log, mut alice, mut bruno) = given_two_peers();
    let original = fact_check("a1", "alice");
    alice.write(None, &original);
    converge(&mut core, &mut log, &mut [&mut alice, &mut bruno]);
    let effects = feed(&mut core, &mut log, edit(1, "alice", delete("a1", None)));
    alice.hear(&effects);
    bruno.hear(&effects);
    converge(&mut core, &mut log, &mut [&mut alice, &mut bruno]);
    // When bruno brings a deleted annotation back to life by resolving it.
    let mut revived = bruno.annotation("a1").unwrap();
    let before = revived.clone();
    revived.deleted = false;
    revived.status = Status::Resolved;
    bruno.write(Some(&before), &revived);
    converge(&mut core, &mut log, &mut [&mut alice, &mut bruno]);
    // Then it stays deleted everywhere.
    assert!(alice.annotation("a1").unwrap().deleted);
    assert!(bruno.annotation("a1").unwrap().deleted);
    assert!(log.types().contains(&"change.rejected"));
}

#[test]
fn a_peers_claim_is_kept_when_valid_and_put_back_when_not_while_the_note_stays() {
    use crate::domain::{ClaimOrigin, Claimant, ClaimantType};
    let (mut core, mut log, mut alice, mut bruno) = given_two_peers();
    let original = fact_check("a1", "alice");
    alice.write(None, &original);
    converge(&mut core, &mut log, &mut [&mut alice, &mut bruno]);
    // When bruno names the claimant, with the date and a summary: accepted and logged.
    let mut claimed = original.clone();
    claimed.claim = Some(Box::new(ClaimOrigin {
        claimant: Some(Claimant {
            name: "Donald Trump".into(),
            url: Some("https://www.wikidata.org/wiki/Q22686".into()),
            kind: Some(ClaimantType::Person),
        }),
        date: Some("2025-02-24".into()),
        summary: Some("Putin has no problem with European troops".into()),
    }));
    bruno.write(Some(&original), &claimed);
    converge(&mut core, &mut log, &mut [&mut alice, &mut bruno]);
    assert!(
        !log.types().contains(&"change.rejected"),
        "{:?}",
        log.types()
    );
    assert_eq!(alice.annotation("a1").unwrap().claim, claimed.claim);
    // When bruno then blanks the claimant's name and links a non-http page, and edits the
    // note: the claim is put back everywhere, the note stays.
    let mut broken = claimed.clone();
    broken.body = "Moscow denied it twice.".into();
    if let Some(claim) = broken.claim.as_mut() {
        claim.claimant = Some(Claimant {
            name: "  ".into(),
            url: Some("javascript:alert(1)".into()),
            kind: None,
        });
    }
    bruno.write(Some(&claimed), &broken);
    converge(&mut core, &mut log, &mut [&mut alice, &mut bruno]);
    assert!(
        log.types().contains(&"change.rejected"),
        "{:?}",
        log.types()
    );
    for peer in [&alice, &bruno] {
        let seen = peer.annotation("a1").unwrap();
        assert_eq!(seen.claim, claimed.claim);
        assert_eq!(seen.body, "Moscow denied it twice.");
    }
}
