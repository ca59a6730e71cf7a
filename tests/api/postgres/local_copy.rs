//! The data directory's copy of the log: checked against PostgreSQL at every start, caught up
//! when behind, rebuilt when it copies another database, and never confused with an embedded
//! desk's own log.

use std::path::Path;

use super::{comments, on_postgres_or_skip, serve_refused, view, PUBLIC_URL};
use crate::crash::Server;
use crate::helpers::TestStore;

fn serve(desk: &TestStore) -> Server {
    Server::start_with(desk, &["--public-url", PUBLIC_URL])
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_copy_that_lost_its_tail_or_was_deleted_is_caught_up() {
    if !on_postgres_or_skip("a_copy_that_lost_its_tail_or_was_deleted_is_caught_up") {
        return;
    }
    let desk = TestStore::new();
    let server = serve(&desk);
    let mut acknowledged = comments(&server, 0, 3).await;
    let status = server.terminate();
    assert!(status.success(), "SIGTERM: {status:?}");
    // The data directory as it was: a copy whose tail will be lost.
    let stale = desk.with_new_data_dir();
    copy_dir(desk.path(), stale.path());

    // SIGKILL right after acknowledged writes: the copy, written without waiting for the
    // disk, may lose its tail; PostgreSQL has it.
    let server = serve(&desk);
    acknowledged.extend(comments(&server, 3, 5).await);
    server.kill();
    let server = serve(&desk);
    for id in &acknowledged {
        let status = server.get(&format!("/annotations/{id}")).await.status();
        assert_eq!(status, 200, "{id} after SIGKILL");
    }
    let expected = view(&server).await;
    server.kill();

    let server = serve(&stale);
    assert!(
        view(&server).await == expected,
        "a copy that lost its tail serves the desk"
    );
    server.kill();

    std::fs::remove_dir_all(desk.path()).unwrap();
    let server = serve(&desk);
    assert!(
        view(&server).await == expected,
        "a deleted data directory serves the desk"
    );
    server.kill();
}

#[tokio::test]
async fn a_copy_of_another_database_is_rebuilt_not_mixed() {
    if !on_postgres_or_skip("a_copy_of_another_database_is_rebuilt_not_mixed") {
        return;
    }
    // The data directory copies the first database, which holds more than the second.
    let first = TestStore::new();
    let server = serve(&first);
    comments(&server, 0, 6).await;
    let status = server.terminate();
    assert!(status.success(), "SIGTERM: {status:?}");
    let second = TestStore::new();
    let server = serve(&second);
    comments(&server, 100, 1).await;
    let expected = view(&server).await;
    let status = server.terminate();
    assert!(status.success(), "SIGTERM: {status:?}");

    let mixed = TestStore {
        dir: first.dir,
        database_url: second.database_url.clone(),
    };
    let server = serve(&mixed);
    assert!(
        view(&server).await == expected,
        "the directory serves the second database's desk, and only it"
    );
    server.kill();
}

#[tokio::test]
async fn a_directory_of_the_other_kind_is_refused() {
    if !on_postgres_or_skip("a_directory_of_the_other_kind_is_refused") {
        return;
    }
    // An embedded desk's directory, holding its own log, given with a database URL.
    let embedded = TestStore::embedded();
    let server = Server::start(&embedded);
    comments(&server, 0, 1).await;
    let status = server.terminate();
    assert!(status.success(), "SIGTERM: {status:?}");
    let database = TestStore::new();
    let both = TestStore {
        dir: embedded.dir,
        database_url: database.database_url.clone(),
    };
    let ended = serve_refused(both.args()).await;
    assert!(!ended.success);
    assert!(
        ended.stderr.contains("embedded desk's own log") && ended.stderr.contains("glossa dump"),
        "{}",
        ended.stderr
    );
    // Still the embedded desk it was.
    let embedded = TestStore {
        dir: both.dir,
        database_url: None,
    };
    let server = Server::start(&embedded);
    assert_eq!(server.get("/annotations/").await.status(), 200);
    server.kill();

    // A copy of a database's log, started without the database.
    let server = serve(&database);
    let status = server.terminate();
    assert!(status.success(), "SIGTERM: {status:?}");
    let copy_alone = TestStore {
        dir: database.dir,
        database_url: None,
    };
    let ended = serve_refused(copy_alone.args()).await;
    assert!(!ended.success);
    assert!(ended.stderr.contains("--database-url"), "{}", ended.stderr);
}
