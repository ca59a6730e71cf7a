//! The command line's live tail (`glossa events --server … --follow`) through the real binary:
//! characters split across chunks come out whole, and the tail comes back after its server
//! did, from the last event it printed, with nothing printed twice or skipped.

use std::ffi::OsStr;
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::crash::Server;
use crate::helpers::{glossa_with_lines, TestStore, ALICE, ARTICLE, JSONLD};

const NOTE: &str = "Zelenskyy — «déclaration» 🇺🇦";
/// A guard against a tail that never prints, not a speed requirement.
const PATIENCE: Duration = Duration::from_secs(120);

/// `glossa events --follow` against `server`, its output lines sent to the returned channel.
fn tail(server: &str, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let head = ["events", "--follow", "--server", server, "--token", ALICE];
    let mut all: Vec<&OsStr> = head.iter().map(OsStr::new).collect();
    all.extend(args.iter().map(OsStr::new));
    glossa_with_lines(&all)
}

fn seq_of(line: &str) -> u64 {
    serde_json::from_str::<Value>(line).expect("a JSON line")["seq"]
        .as_u64()
        .expect("a sequence number")
}

/// Reads the tail's lines up to the one with sequence number `seq`.
fn lines_until(lines: &mpsc::Receiver<String>, seq: u64, into: &mut Vec<String>) {
    loop {
        let line = lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("the tail did not print event {seq}"));
        let got = seq_of(&line);
        into.push(line);
        if got >= seq {
            return;
        }
    }
}

/// Accepts one connection and answers it with an SSE body written in `parts`, one write
/// each, with a pause between them so the client reads each part on its own (nothing on the
/// client's side can be awaited for that). Returns the request's head.
async fn answer_once(listener: &TcpListener, parts: &[&[u8]]) -> String {
    let (mut socket, _) = listener.accept().await.unwrap();
    socket.set_nodelay(true).unwrap();
    let head = read_head(&mut socket).await;
    socket
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    for part in parts {
        socket.write_all(part).await.unwrap();
        socket.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    head.to_lowercase()
}

async fn read_head(socket: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        socket.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[tokio::test]
async fn the_cli_tail_keeps_split_characters_whole_and_resumes_from_the_last_event_id() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (child, lines) = tail(&base, &["--after", "0", "--limit", "2"]);
    let first = json!({"seq": 1, "type": "annotation.created", "data": {"body": NOTE}});
    let second = json!({"seq": 2, "type": "annotation.updated", "data": {"body": "ok"}});
    let frame = |event: &Value| format!("id: {}\ndata: {event}\n\n", event["seq"]);
    let one = frame(&first);
    // Cut in the middle of the flag's first four-byte character.
    let cut = one.find('🇺').unwrap() + 2;

    // The first connection ends after event 1, which arrives in two pieces.
    let head = answer_once(&listener, &[&one.as_bytes()[..cut], &one.as_bytes()[cut..]]).await;
    assert!(head.contains("last-event-id: 0\r\n"), "{head}");
    // The tail comes back with the last id it printed; this server sends event 1 again.
    let again = format!("{one}{}", frame(&second));
    let head = answer_once(&listener, &[again.as_bytes()]).await;
    assert!(head.contains("last-event-id: 1\r\n"), "{head}");

    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success());
    let printed: Vec<String> = lines.iter().collect();
    assert_eq!(printed.len(), 2, "each event once: {printed:?}");
    let printed: Vec<Value> = printed
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed, vec![first, second]);
}

/// An annotation whose note has characters of two, three and four bytes.
async fn annotate(server: &Server) {
    let body = json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": NOTE,
        "target": {
            "source": format!("/articles/{ARTICLE}"),
            "selector": {"type": "TextQuoteSelector", "exact": "26 nations have pledged"}
        }
    });
    let response = server
        .client
        .post(format!("{}/annotations/", server.base))
        .bearer_auth(ALICE)
        .header("Content-Type", JSONLD)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

async fn head(server: &Server) -> u64 {
    server.json("/healthz").await["log_head"].as_u64().unwrap()
}

#[tokio::test]
async fn the_cli_tail_comes_back_after_its_server_restarts_and_misses_nothing() {
    let store = TestStore::new();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let server = Server::start_with_addr(&store, &addr);
    let start = head(&server).await;
    let (mut child, lines) = tail(&server.base, &["--after", &start.to_string()]);
    let mut printed = Vec::new();

    annotate(&server).await;
    let before = head(&server).await;
    lines_until(&lines, before, &mut printed);
    assert!(server.terminate().success());
    drop(server);

    let server = Server::start_with_addr(&store, &addr);
    annotate(&server).await;
    let after = head(&server).await;
    lines_until(&lines, after, &mut printed);
    child.kill().unwrap();
    child.wait().unwrap();

    let seqs: Vec<u64> = printed.iter().map(|l| seq_of(l)).collect();
    assert_eq!(
        seqs,
        (start + 1..=after).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let notes = printed.iter().filter(|l| l.contains(NOTE)).count();
    assert!(notes >= 2, "the note came through whole: {printed:?}");
}
