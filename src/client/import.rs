//! `glossa import hypothesis FILE`: through a running server's `POST /api/import/hypothesis`,
//! or on a data directory no server holds, through the desk as the server would. The file is
//! read and checked before anything is written.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::cli::Source;
use crate::desk::Desk;
use crate::domain::UserName;
use crate::store::{Store, StoreError};

pub async fn import_hypothesis_command(
    file: &Path,
    source: Source,
    public_url: &str,
    json: bool,
) -> anyhow::Result<()> {
    let bytes = if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        bytes
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let rows = crate::hypothesis::parse(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
    let report = match (&source.server, &source.token) {
        (Some(server), Some(token)) => {
            let body: Value = serde_json::from_slice(&bytes)?;
            super::call(server, token, "POST", "/api/import/hypothesis", Some(body)).await?
        }
        (Some(_), None) => bail!("--server needs --token (or GLOSSA_TOKEN) of an admin"),
        (None, _) => {
            let location = source.location();
            let store = Store::open_at(&location).map_err(|e| match e {
                StoreError::Locked { .. } => anyhow::anyhow!(
                    "{} is open in a running server, which holds it alone. Import through that \
                     server instead: add --server http://HOST:PORT --token ADMIN_TOKEN.",
                    location.data_dir.display()
                ),
                other => anyhow::Error::new(other).context(format!(
                    "cannot open the data directory {}",
                    location.data_dir.display()
                )),
            })?;
            let desk = Desk::new(store.clone(), crate::config::Limits::default().content);
            let report = desk
                .import_hypothesis(&UserName::system(), rows, public_url)
                .await;
            desk.documents().shutdown().await;
            drop(desk);
            store.close();
            serde_json::to_value(report?)?
        }
    };
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", render(&report))?;
    }
    Ok(())
}

/// The report for a person.
fn render(report: &Value) -> String {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let placed = &report["placed"];
    let orphaned = list(&report["orphaned"]);
    let skipped = list(&report["skipped"]);
    let mut out = format!(
        "rows: {}\nimported: {} annotations, {} replies\nplaced: {} exact, {} fuzzy\n",
        n(&report["rows"]),
        n(&report["imported"]["annotations"]),
        n(&report["imported"]["replies"]),
        n(&placed["exact"]),
        n(&placed["fuzzy"]),
    );
    out.push_str(&format!(
        "orphaned (no place in the article; not imported): {}\n",
        orphaned.len()
    ));
    for o in &orphaned {
        out.push_str(&format!(
            "  {} on {} ({}): {:?}\n",
            o["id"].as_str().unwrap_or_default(),
            o["article"].as_str().unwrap_or_default(),
            o["anchoring"].as_str().unwrap_or_default(),
            o["quote"].as_str().unwrap_or_default(),
        ));
    }
    out.push_str(&format!("skipped: {}\n", skipped.len()));
    for s in &skipped {
        out.push_str(&format!(
            "  {}: {}\n",
            s["id"].as_str().unwrap_or_default(),
            s["reason"].as_str().unwrap_or_default()
        ));
    }
    out.push_str(&format!(
        "already imported: {}\n",
        n(&report["already_imported"])
    ));
    out
}
