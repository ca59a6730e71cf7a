//! The sync suite of `glossa-bench`: a server in-process on a fresh desk, over a real socket,
//! with as many users as the clients need (one sync connection per user is capped), and the
//! load generator pointed at one article's document.

use std::time::Duration;

use super::{run_dedicated, Anchor, Edit, Report, Workload};
use crate::bench::backend::Backend;
use crate::domain::{ArticleId, UserName};
use crate::identity::{NewUser, Role, Users};
use crate::startup::Application;

/// One case of the suite.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub clients: usize,
    pub writers: usize,
    pub edits_per_writer: usize,
    /// Edits per second per writer.
    pub rate: f64,
    pub edit: Edit,
}

/// Runs each case on a fresh sled desk served in-process.
pub async fn in_process(cases: &[Case], throttle: Duration) -> anyhow::Result<Vec<Report>> {
    let mut reports = Vec::new();
    for case in cases {
        let desk = Backend::Sled.desk("sync").await?;
        let settings = desk.settings();
        let per_user = settings.limits.max_connections_per_user.max(1);
        let app = Application::build(settings).await?;
        let anchor = Anchor::seeded();
        let article = ArticleId::parse(&anchor.article)?;
        let document_id = app.desk().article(&article)?.document_id;
        let users = app.users().clone();
        let mut writers = Vec::new();
        for i in 0..case.writers {
            let name = format!("bench-writer-{i}");
            writers.push((token(&users, &name, Role::Editor).await?, name));
        }
        let mut readers = Vec::new();
        for i in 0..(case.clients - case.writers).div_ceil(per_user) {
            readers.push(token(&users, &format!("bench-reader-{i}"), Role::Viewer).await?);
        }
        let url = format!("{}/sync", app.base_url().replacen("http", "ws", 1));
        tokio::spawn(app.run_until_stopped());
        let workload = Workload {
            url,
            document_id,
            writers,
            readers,
            clients: case.clients,
            edits_per_writer: case.edits_per_writer,
            rate: case.rate,
            throttle,
            anchor,
            edit: case.edit,
            server_pid: None,
            patience: Duration::from_secs(10),
        };
        let report = run_dedicated(workload).await;
        desk.remove().await;
        reports.push(report?);
    }
    Ok(reports)
}

/// Runs each case against a server elsewhere (the reference automerge-repo server, say), on
/// the document `document_id` there, every client with the same token, the writers as its
/// user; the server's CPU is measured when its `server_pid` is given.
pub async fn external(
    url: &str,
    document_id: &str,
    (token, user): (&str, &str),
    server_pid: Option<u32>,
    cases: &[Case],
    throttle: Duration,
) -> anyhow::Result<Vec<Report>> {
    let mut reports = Vec::new();
    for case in cases {
        let workload = Workload {
            url: url.to_owned(),
            document_id: document_id.to_owned(),
            writers: (0..case.writers)
                .map(|_| (token.to_owned(), user.to_owned()))
                .collect(),
            readers: vec![token.to_owned()],
            clients: case.clients,
            edits_per_writer: case.edits_per_writer,
            rate: case.rate,
            throttle,
            anchor: Anchor::seeded(),
            edit: case.edit,
            server_pid,
            patience: Duration::from_secs(10),
        };
        reports.push(run_dedicated(workload).await?);
    }
    Ok(reports)
}

/// A token for a new user of this role.
async fn token(users: &Users, name: &str, role: Role) -> anyhow::Result<String> {
    let new = NewUser {
        name: UserName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?,
        display_name: None,
        role,
    };
    let issued = users
        .issue_token_creating_user(&UserName::system(), new)
        .await?;
    Ok(issued.secret)
}
