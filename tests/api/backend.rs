//! Where a test desk keeps its log: sled in a temporary data directory (the default), or, with
//! `GLOSSA_TEST_BACKEND=postgres`, a fresh PostgreSQL database of its own on the cluster at
//! `GLOSSA_TEST_DATABASE_URL` (what `scripts/with-postgres.sh` starts and exports) with the
//! temporary data directory as its local copy. [`TestStore`] is that storage; every test that
//! starts a desk, restarts one or runs a command on one goes through it.

use std::ffi::OsString;
use std::path::Path;

use glossa::config::Settings;
use glossa::store::Location;

/// `sled` (the default) or `postgres`.
pub const BACKEND: &str = "GLOSSA_TEST_BACKEND";
/// The admin URL of the cluster test databases are created on (postgres://USER@HOST:PORT/DB).
pub const DATABASE_URL: &str = "GLOSSA_TEST_DATABASE_URL";

/// The backend this run of the suite tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sled,
    Postgres { admin_url: String },
}

/// The backend this run tests: panics on a misconfigured environment rather than fall back
/// to sled (read each time, so every test says why, not only the first).
pub fn backend() -> Backend {
    let name = std::env::var(BACKEND).unwrap_or_default();
    match name.trim() {
        "" | "sled" => Backend::Sled,
        "postgres" | "postgresql" => match std::env::var(DATABASE_URL) {
            Ok(url) if !url.trim().is_empty() => Backend::Postgres {
                admin_url: url.trim().to_owned(),
            },
            _ => panic!(
                "{BACKEND}=postgres needs {DATABASE_URL}, the admin URL of a PostgreSQL cluster \
                 the tests may create databases on; run the suite as \
                 `{BACKEND}=postgres scripts/with-postgres.sh cargo test`"
            ),
        },
        other => panic!("{BACKEND}={other}: expected `sled` or `postgres`"),
    }
}

/// Whether this run keeps every test desk's log in PostgreSQL.
pub fn on_postgres() -> bool {
    matches!(backend(), Backend::Postgres { .. })
}

/// A test desk's storage: its data directory and, on PostgreSQL, its own database.
pub struct TestStore {
    pub dir: tempfile::TempDir,
    pub database_url: Option<String>,
}

impl TestStore {
    /// A new, empty desk on this run's backend.
    pub fn new() -> Self {
        let database_url = match backend() {
            Backend::Sled => None,
            Backend::Postgres { admin_url } => Some(create_database(&admin_url)),
        };
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            database_url,
        }
    }

    /// A new desk in sled whatever the backend, for tests of sled itself.
    pub fn embedded() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            database_url: None,
        }
    }

    /// The same desk with a new, empty data directory: on PostgreSQL the desk itself (a second
    /// server on one database, or a replacement whose local copy is rebuilt from it); in sled a
    /// new, empty desk.
    pub fn with_new_data_dir(&self) -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            database_url: self.database_url.clone(),
        }
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn location(&self) -> Location {
        Location::new(self.path().to_path_buf(), self.database_url.clone())
    }

    /// `--data-dir D [--database-url U]`: the desk, for the real binary's commands.
    pub fn args(&self) -> Vec<OsString> {
        let mut args = vec![OsString::from("--data-dir"), self.path().into()];
        if let Some(url) = &self.database_url {
            args.push("--database-url".into());
            args.push(url.into());
        }
        args
    }

    /// The test settings of an in-process server on this desk.
    pub fn settings(&self) -> Settings {
        Settings {
            database_url: self.database_url.clone(),
            ..Settings::for_tests(self.path().to_path_buf())
        }
    }
}

impl Default for TestStore {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `work` on a runtime of its own on a thread of its own, so it can be called from sync
/// tests and from inside any test runtime alike.
pub fn blocking<F>(work: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(work)
    })
    .join()
    .expect("the database helper thread")
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test cluster at {url}: {e}"));
    tokio::spawn(connection);
    client
}

/// Creates a new database `glossa_t_<uuid>` on the cluster at `admin_url`; returns its URL.
pub fn create_database(admin_url: &str) -> String {
    let name = format!("glossa_t_{}", uuid::Uuid::new_v4().simple());
    let admin = admin_url.to_owned();
    let statement = format!(
        "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    );
    blocking(async move {
        let client = connect(&admin).await;
        client
            .batch_execute(&statement)
            .await
            .unwrap_or_else(|e| panic!("cannot create a test database on {admin}: {e}"));
    });
    database_url(admin_url, &name)
}

/// `url` with its database replaced by `database` (query parameters kept).
pub fn database_url(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base
        .find("://")
        .unwrap_or_else(|| panic!("{DATABASE_URL} must be a postgres:// URL, not {url}"))
        + 3;
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Whether any row of any table in the database at `url` holds `needle`, as text or as bytes
/// (a byte column shows as hex in a row's text).
pub fn database_contains(url: &str, needle: &[u8]) -> bool {
    let url = url.to_owned();
    let text = String::from_utf8_lossy(needle).into_owned();
    let hex = hex::encode(needle);
    blocking(async move {
        let client = connect(&url).await;
        let tables = client
            .query(
                "SELECT quote_ident(table_name) FROM information_schema.tables \
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                &[],
            )
            .await
            .expect("the tables are listed");
        for table in tables {
            let table: String = table.get(0);
            let sql = format!(
                "SELECT count(*) FROM {table} t \
                     WHERE strpos(t::text, $1) > 0 OR strpos(lower(t::text), $2) > 0"
            );
            let row = client
                .query_one(&sql, &[&text, &hex])
                .await
                .unwrap_or_else(|e| panic!("cannot search {table}: {e}"));
            if row.get::<_, i64>(0) > 0 {
                return true;
            }
        }
        false
    })
}

#[test]
fn a_database_url_names_the_new_database_and_keeps_the_rest() {
    assert_eq!(
        database_url("postgres://postgres@127.0.0.1:5432/postgres", "d"),
        "postgres://postgres@127.0.0.1:5432/d"
    );
    assert_eq!(
        database_url("postgres://u:p@h/postgres?sslmode=disable", "d"),
        "postgres://u:p@h/d?sslmode=disable"
    );
    assert_eq!(database_url("postgres://h:1", "d"), "postgres://h:1/d");
}

/// On PostgreSQL, every test desk gets a database of its own that it can reach.
#[test]
fn each_test_store_has_a_reachable_database_of_its_own_on_postgres() {
    let (first, second) = (TestStore::new(), TestStore::new());
    if !on_postgres() {
        assert_eq!(first.database_url, None);
        assert_eq!(first.args().len(), 2);
        return;
    }
    let (a, b) = (
        first.database_url.clone().expect("a database"),
        second.database_url.clone().expect("a database"),
    );
    assert_ne!(a, b, "each desk has its own database");
    for url in [a, b] {
        let name = blocking(async move {
            let client = connect(&url).await;
            client
                .query_one("SELECT current_database()", &[])
                .await
                .expect("a query")
                .get::<_, String>(0)
        });
        assert!(name.starts_with("glossa_t_"), "{name}");
    }
    let url = first.database_url.clone().unwrap();
    let write = url.clone();
    blocking(async move {
        connect(&write)
            .await
            .batch_execute(
                "CREATE TABLE t (words text, bytes bytea); \
                 INSERT INTO t VALUES ('a needle in text', '\\x00ff6e6565646c652062797465730a')",
            )
            .await
            .unwrap();
    });
    assert!(database_contains(&url, b"needle in text"));
    assert!(database_contains(&url, b"needle bytes"));
    assert!(!database_contains(&url, b"haystack"));
    let args = first.args();
    assert_eq!(args[2], "--database-url");
}

/// A test desk's location opens a store with an empty log, and so does the same desk on a new
/// data directory (on PostgreSQL, the same database).
#[tokio::test]
async fn a_test_store_opens_where_its_location_says() {
    let store = TestStore::new();
    let again = store.with_new_data_dir();
    assert_eq!(again.database_url, store.database_url);
    assert_ne!(again.path(), store.path());
    for location in [store.location(), again.location()] {
        let opened = tokio::task::spawn_blocking(move || glossa::store::Store::open_at(&location))
            .await
            .unwrap()
            .expect("the store opens");
        assert_eq!(opened.log.head(), 0);
        opened.close();
    }
}
