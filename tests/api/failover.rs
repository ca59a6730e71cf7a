//! A failover to a standby that had not received the last commits: the database's log now ends
//! before a server's copy of it. The running server must not give the copy's positions to other
//! events; restarted, it rebuilds its copy from the database. PostgreSQL only.

use crate::backend::{connect, on_postgres, TestStore};
use crate::crash::Server;
use crate::helpers::CHIARA;

#[tokio::test]
async fn a_database_behind_the_copy_stops_writes_and_a_restart_rebuilds_the_copy() {
    if !on_postgres() {
        eprintln!("a_database_behind_the_copy_stops_writes_and_a_restart_rebuilds_the_copy: skipped, it needs the PostgreSQL backend");
        return;
    }
    let desk = TestStore::new();
    let server = Server::start(&desk);
    let kept = server.comment(1).await.expect("acknowledged");
    let kept_head = head(&server).await;
    let lost = server.comment(2).await.expect("acknowledged");
    let copy_head = head(&server).await;
    assert!(copy_head > kept_head);

    // The new primary never received the last commit.
    let db = connect(desk.database_url.as_deref().unwrap()).await;
    db.batch_execute(&format!(
        "BEGIN;
         DELETE FROM glossa_events WHERE seq > {kept_head};
         UPDATE glossa_head SET seq = {kept_head};
         DELETE FROM glossa_streams;
         INSERT INTO glossa_streams SELECT stream, max(version) FROM glossa_events GROUP BY stream;
         COMMIT;"
    ))
    .await
    .unwrap();

    // A write to a stream the lost commit did not touch would otherwise take the copy's
    // positions: refused.
    let user = server
        .client
        .post(format!("{}/api/users", server.base))
        .bearer_auth(CHIARA)
        .json(&serde_json::json!({"name": "dana", "role": "editor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), 503, "the server stops taking writes");
    assert_eq!(server.comment(3).await, None, "any write");
    assert_eq!(count(&db).await, kept_head, "and wrote nothing");
    server.kill();

    // Restarted on the same data directory, the server rebuilds its copy from the database.
    let again = Server::start(&desk);
    assert_eq!(head(&again).await, kept_head);
    assert_eq!(
        again.get(&format!("/annotations/{kept}")).await.status(),
        200
    );
    assert_eq!(
        again.get(&format!("/annotations/{lost}")).await.status(),
        404
    );
    assert!(again.comment(4).await.is_some(), "and takes writes again");
    assert_eq!(count(&db).await, head(&again).await);
    again.kill();
}

async fn head(server: &Server) -> u64 {
    server.json("/healthz").await["log_head"].as_u64().unwrap()
}

async fn count(db: &tokio_postgres::Client) -> u64 {
    let row = db
        .query_one("SELECT count(*) FROM glossa_events", &[])
        .await
        .unwrap();
    row.get::<_, i64>(0) as u64
}
