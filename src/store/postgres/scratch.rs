//! Scratch databases: a new, empty database on a cluster, for one benchmark case (or one test)
//! to keep its desk in, dropped again afterwards. Given the URL of any database on the cluster
//! whose role may create databases, it creates `glossa_scratch_<random>` and hands back the
//! same URL pointing at it.

use tokio_postgres::NoTls;

use super::{parse, pg_error};
use crate::store::StoreError;

/// A database made by [`ScratchDatabase::create`]; [`ScratchDatabase::drop`] removes it.
#[derive(Clone, Debug)]
pub struct ScratchDatabase {
    /// The URL of the new database, for `--database-url` and `Location`.
    pub url: String,
    name: String,
    admin_url: String,
}

impl ScratchDatabase {
    /// Creates an empty database on the cluster `admin_url` points at.
    pub async fn create(admin_url: &str) -> Result<Self, StoreError> {
        let name = format!("glossa_scratch_{}", uuid::Uuid::new_v4().simple());
        let client = admin(admin_url).await?;
        // A name of our own making: lower-case letters, digits and underscores only.
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(pg_error)?;
        Ok(Self {
            url: with_database(admin_url, &name),
            name,
            admin_url: admin_url.to_owned(),
        })
    }

    /// Drops the database, closing whatever connections still use it.
    pub async fn drop(self) -> Result<(), StoreError> {
        let client = admin(&self.admin_url).await?;
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .map_err(pg_error)
    }
}

async fn admin(url: &str) -> Result<tokio_postgres::Client, StoreError> {
    let (client, connection) = parse(url)?.connect(NoTls).await.map_err(pg_error)?;
    tokio::spawn(connection);
    Ok(client)
}

/// `url` with its database replaced by `name`, in either of the forms PostgreSQL accepts
/// (`postgres://…/db?…` or `host=… dbname=…`).
fn with_database(url: &str, name: &str) -> String {
    let Some(scheme_end) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .map(|rest| url.len() - rest.len())
    else {
        return format!("{url} dbname={name}");
    };
    let (head, query) = match url.find('?') {
        Some(q) => url.split_at(q),
        None => (url, ""),
    };
    let authority_end = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |slash| scheme_end + slash);
    format!("{}/{name}{query}", &head[..authority_end])
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        for (url, expected) in [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgresql://u:p@h/db?sslmode=disable",
                "postgresql://u:p@h/x?sslmode=disable",
            ),
            ("postgres://h:1", "postgres://h:1/x"),
            (
                "postgres://h?application_name=a",
                "postgres://h/x?application_name=a",
            ),
            (
                "host=/tmp port=5 user=u",
                "host=/tmp port=5 user=u dbname=x",
            ),
        ] {
            assert_eq!(with_database(url, "x"), expected, "{url}");
        }
    }
}
