//! Two people typing in their own notes on one article's document at a steady rate, each
//! through a sync peer: both on one replica, or one on each of two replicas, where the
//! replicas' appends to the document race. Each keystroke is an Automerge change that types
//! one character (the note is cleared every `LINE` characters); its acknowledgement is the
//! first message from the server whose heads include it. Counts the races the document tasks
//! lost (`glossa_document_append_races_total`; each was merged and tried again) and whether the
//! peers converged.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash};
use chrono::Utc;

use super::peer::Peer;
use super::replicas::{postgres, races, Cluster, Replica};
use super::Row;
use crate::documents::schema;
use crate::domain::ArticleId;

const ARTICLE: &str = "twenty-six-nations-pledge";
/// Characters typed before a note is cleared.
const LINE: usize = 200;
/// How long the last keystrokes may take to be acknowledged.
const PATIENCE: Duration = Duration::from_secs(5);

/// What one typist saw.
#[derive(Default)]
struct Typed {
    acks: Vec<Duration>,
    keystrokes: u64,
    errors: Vec<String>,
}

/// Two typists at `rate` keystrokes per second each, on one replica and then on two.
pub async fn measure(cluster_url: &str, rate: f64, duration: Duration) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    // Keystrokes at the same instants (the worst case for races), or bruno's half a keystroke
    // after alice's.
    for (spread, offset) in [(false, false), (true, false), (true, true)] {
        let phase = if offset {
            Duration::from_secs_f64(0.5 / rate)
        } else {
            Duration::ZERO
        };
        let cluster = Cluster::start(cluster_url, 2).await?;
        let first = &cluster.replicas[0];
        let second = if spread { &cluster.replicas[1] } else { first };
        let alice = note(first, "demo-alice-token").await?;
        let bruno = note(first, "demo-bruno-token").await?;
        // The other replica holds both notes before anyone types.
        let head = first.desk.store().log.head();
        let mut watch = cluster.replicas[1].desk.store().log.watch_head();
        watch.wait_for(|h| *h >= head).await?;

        let races_before = races();
        let head_before = first.desk.store().log.head();
        let start = Instant::now() + Duration::from_millis(200);
        let typists = [
            (first, "alice", alice, start),
            (second, "bruno", bruno, start + phase),
        ];
        let typing = typists.map(|(r, user, id, start)| {
            let documents = r.desk.documents().clone();
            let desk = r.desk.clone();
            tokio::spawn(async move {
                let article = ArticleId::parse(ARTICLE).unwrap();
                let document_id = desk.article(&article)?.document_id;
                let mut peer = Peer::new(&documents, &article, &document_id, user);
                peer.settle().await?;
                let typed = type_steadily(&mut peer, &id, start, rate, duration).await?;
                anyhow::Ok((peer, typed))
            })
        });
        let mut peers = Vec::new();
        let mut typed = Typed::default();
        for task in typing {
            let (peer, t) = task.await??;
            peers.push(peer);
            typed.acks.extend(t.acks);
            typed.keystrokes += t.keystrokes;
            typed.errors.extend(t.errors);
        }
        let raced = races() - races_before;
        let events = first.desk.store().log.head() - head_before;
        for peer in &mut peers {
            peer.settle().await?;
        }
        // A second round: what one peer settled may have reached the other only now.
        for peer in &mut peers {
            peer.settle().await?;
        }
        let converged = peers[0].doc.get_heads() == peers[1].doc.get_heads();
        let where_ = match (spread, offset) {
            (false, _) => "in step, both on 1 replica",
            (true, false) => "in step, one on each of 2 replicas",
            (true, true) => "half a keystroke apart, one on each of 2 replicas",
        };
        if !typed.errors.is_empty() {
            eprintln!("typists ({where_}): the server said {:?}", typed.errors);
        }
        rows.push(postgres(super::row(
            "replicas",
            format!(
                "2 typists at {rate:.0} keystrokes/s each, {where_}: sync acknowledgement \
                 ({} keystrokes, {} acknowledged, {events} events, {raced} races, {} errors, {})",
                typed.keystrokes,
                typed.acks.len(),
                typed.errors.len(),
                if converged {
                    "converged"
                } else {
                    "NOT converged"
                }
            ),
            typed.acks,
            duration,
        )));
        cluster.remove().await;
    }
    Ok(rows)
}

/// Creates a comment as the token's user on `replica`; its id.
async fn note(replica: &Replica, token: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": "Typing here: ",
        "target": {
            "source": format!("{}/articles/{ARTICLE}", replica.base),
            "selector": {"type": "TextQuoteSelector", "exact": "26 nations have pledged"}
        }
    });
    let response = reqwest::Client::new()
        .post(format!("{}/annotations/", replica.base))
        .header("Content-Type", "application/ld+json")
        .bearer_auth(token)
        .body(body.to_string())
        .send()
        .await?
        .error_for_status()?;
    let json: serde_json::Value = response.json().await?;
    json["id"]
        .as_str()
        .and_then(|id| id.rsplit('/').next())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("a created annotation without an id"))
}

/// Types into note `id` from `started` at `rate` keystrokes per second for `duration`, answering the server
/// as a client does, until every keystroke is acknowledged (or the patience runs out).
async fn type_steadily(
    peer: &mut Peer,
    id: &str,
    started: Instant,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Typed> {
    let mut typed = Typed::default();
    let mut pending: Vec<(ChangeHash, Instant)> = Vec::new();
    let stop = started + duration;
    let give_up = stop + PATIENCE;
    let mut first_body = None;
    loop {
        let now = Instant::now();
        if now >= give_up || (now >= stop && pending.is_empty()) {
            break;
        }
        let due = started + Duration::from_secs_f64(typed.keystrokes as f64 / rate);
        let typing = due < stop;
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()), if typing => {
                let hash = keystroke(peer, id, &mut first_body)?;
                pending.push((hash, Instant::now()));
                typed.keystrokes += 1;
                peer.send().await?;
            }
            outbound = peer.inbox.recv() => {
                let Some(outbound) = outbound else { break };
                if let Some(heads) = peer.receive(outbound)? {
                    acknowledge(&peer.doc, &heads, &mut pending, &mut typed.acks);
                }
                peer.send().await?;
            }
            _ = tokio::time::sleep_until(give_up.into()) => break,
        }
    }
    typed.errors = std::mem::take(&mut peer.errors);
    Ok(typed)
}

/// One character typed into note `id` (the note cleared back to its first text every `LINE`).
fn keystroke(
    peer: &mut Peer,
    id: &str,
    first_body: &mut Option<String>,
) -> anyhow::Result<ChangeHash> {
    let all = schema::read_all(&peer.doc)?;
    let before = all
        .into_iter()
        .find(|a| a.id.as_str() == id)
        .ok_or_else(|| anyhow::anyhow!("note {id} is not in the peer's document"))?;
    let first = first_body
        .get_or_insert_with(|| before.body.clone())
        .clone();
    let mut after = before.clone();
    after.modified = Utc::now();
    if after.body.chars().count() >= first.chars().count() + LINE {
        after.body = first;
    } else {
        after.body.push('x');
    }
    let mut tx = peer.doc.transaction();
    let map = schema::annotations_map(&tx)?.ok_or_else(|| anyhow::anyhow!("no annotations map"))?;
    schema::write_annotation(&mut tx, &map, Some(&before), &after)?;
    tx.commit();
    Ok(peer
        .doc
        .get_last_local_change()
        .ok_or_else(|| anyhow::anyhow!("the keystroke made no change"))?
        .hash())
}

/// Takes the keystrokes the server's `heads` include (as themselves or as ancestors) off
/// `pending`, timing each; nothing while `doc` lacks one of those heads.
fn acknowledge(
    doc: &Automerge,
    heads: &[ChangeHash],
    pending: &mut Vec<(ChangeHash, Instant)>,
    acks: &mut Vec<Duration>,
) {
    if pending.is_empty()
        || heads
            .iter()
            .any(|h| doc.get_change_meta_by_hash(h).is_none())
    {
        return;
    }
    let newer: HashSet<ChangeHash> = doc
        .get_changes_meta(heads)
        .into_iter()
        .map(|c| c.hash)
        .collect();
    pending.retain(|(hash, sent)| {
        let waiting = newer.contains(hash);
        if !waiting {
            acks.push(sent.elapsed());
        }
        waiting
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::ROOT;

    fn typed(doc: &mut Automerge, key: &str) -> ChangeHash {
        let mut tx = doc.transaction();
        tx.put(ROOT, key, 1i64).unwrap();
        tx.commit();
        doc.get_last_local_change().unwrap().hash()
    }

    #[test]
    fn a_keystroke_is_acknowledged_once_the_servers_heads_include_it() {
        let mut peer = Automerge::new();
        let keystroke = typed(&mut peer, "k");
        let mut pending = vec![(keystroke, Instant::now())];
        let mut acks = Vec::new();

        // The server has not got it: its heads are something else the peer already holds.
        let mut server = Automerge::new();
        let other = typed(&mut server, "s");
        peer.merge(&mut server.clone()).unwrap();
        acknowledge(&peer, &[other], &mut pending, &mut acks);
        assert_eq!((pending.len(), acks.len()), (1, 0), "not yet");

        // Heads the peer does not know yet say nothing.
        server.merge(&mut peer.clone()).unwrap();
        let later = typed(&mut server, "t");
        acknowledge(&peer, &[later], &mut pending, &mut acks);
        assert_eq!((pending.len(), acks.len()), (1, 0), "unknown heads");

        // Once the peer holds them: a later change built on the keystroke acknowledges it.
        peer.merge(&mut server.clone()).unwrap();
        acknowledge(&peer, &[later], &mut pending, &mut acks);
        assert_eq!((pending.len(), acks.len()), (0, 1), "acknowledged");
    }
}
