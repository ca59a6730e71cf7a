//! Where a benchmark case keeps its desk: sled in a fresh data directory, or PostgreSQL in a
//! fresh database on the cluster a URL points at (with a fresh data directory for the local
//! copy). Every case gets a desk of its own, so cases do not disturb each other, and the two
//! backends run the same code paths (`Store::open_at`, `Application::build`).

use std::path::PathBuf;

use crate::config::Settings;
use crate::startup::Application;
use crate::store::{Location, ScratchDatabase, Store};

/// The log's home for one series of cases.
#[derive(Clone, Debug)]
pub enum Backend {
    Sled,
    /// A cluster to make a database per case on: the URL of any database there whose role may
    /// create databases.
    Postgres {
        cluster_url: String,
    },
}

impl Backend {
    /// sled, and PostgreSQL when a cluster is given.
    pub fn all(cluster_url: Option<&str>) -> Vec<Backend> {
        let mut backends = vec![Backend::Sled];
        if let Some(url) = cluster_url {
            backends.push(Backend::Postgres {
                cluster_url: url.to_owned(),
            });
        }
        backends
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sled => "sled",
            Backend::Postgres { .. } => "PostgreSQL",
        }
    }

    /// A new, empty desk on this backend.
    pub async fn desk(&self, label: &str) -> anyhow::Result<FreshDesk> {
        let dir = std::env::temp_dir().join(format!(
            "glossa-bench-{label}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        let scratch = match self {
            Backend::Sled => None,
            Backend::Postgres { cluster_url } => Some(ScratchDatabase::create(cluster_url).await?),
        };
        let url = scratch.as_ref().map(|s| s.url.clone());
        Ok(FreshDesk {
            location: Location::new(dir, url),
            scratch,
        })
    }
}

/// A desk made for one case; `remove` deletes its data directory and database.
pub struct FreshDesk {
    pub location: Location,
    scratch: Option<ScratchDatabase>,
}

impl FreshDesk {
    pub fn dir(&self) -> &PathBuf {
        &self.location.data_dir
    }

    /// The desk's store, as the server opens it.
    pub fn open(&self) -> anyhow::Result<Store> {
        Ok(Store::open_at(&self.location)?)
    }

    /// The settings a server on this desk starts with.
    pub fn settings(&self) -> Settings {
        Settings {
            database_url: self.location.database_url.clone(),
            ..Settings::for_tests(self.location.data_dir.clone())
        }
    }

    /// Starts a server on the desk, in-process; returns its base URL.
    pub async fn serve(&self) -> anyhow::Result<String> {
        let app = Application::build(self.settings()).await?;
        let base = app.base_url().to_owned();
        tokio::spawn(app.run_until_stopped());
        Ok(base)
    }

    /// Deletes the data directory and drops the database (closing any connection left to it).
    pub async fn remove(self) {
        if let Some(scratch) = self.scratch {
            if let Err(error) = scratch.drop().await {
                eprintln!("could not drop a benchmark database: {error}");
            }
        }
        std::fs::remove_dir_all(&self.location.data_dir).ok();
    }
}
