//! Moving a desk from sled into PostgreSQL: `glossa dump` of the embedded desk, `glossa restore
//! --database-url` into an empty database, and the server on it serves the same desk. A
//! database that already holds events is not restored into.

use std::process::{Command, Output};

use super::{comments, on_postgres_or_skip, view, PUBLIC_URL};
use crate::crash::Server;
use crate::helpers::TestStore;

fn glossa(command: &str, desk: &TestStore, extra: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glossa"))
        .arg(command)
        .args(desk.args())
        .args(extra)
        .output()
        .unwrap()
}

#[tokio::test]
async fn an_embedded_desk_moves_into_postgresql() {
    if !on_postgres_or_skip("an_embedded_desk_moves_into_postgresql") {
        return;
    }
    let embedded = TestStore::embedded();
    let server = Server::start_with(&embedded, &["--public-url", PUBLIC_URL]);
    comments(&server, 0, 5).await;
    let expected = view(&server).await;
    let status = server.terminate();
    assert!(status.success(), "SIGTERM: {status:?}");

    let dumped = glossa("dump", &embedded, &[]);
    assert!(
        dumped.status.success(),
        "{}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &dumped.stdout).unwrap();
    let from = [std::ffi::OsStr::new("--from"), file.path().as_os_str()];

    let moved = TestStore::new();
    let restored = glossa("restore", &moved, &from);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let server = Server::start_with(&moved, &["--public-url", PUBLIC_URL]);
    assert!(
        view(&server).await == expected,
        "the moved desk serves the same desk"
    );
    server.kill();

    // Into the same database again, through another data directory: refused.
    let again = glossa("restore", &moved.with_new_data_dir(), &from);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already holds events"), "{stderr}");
}
