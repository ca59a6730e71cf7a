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
            let mut report = Value::Null;
            for batch in batches(&bytes, BATCH_BYTES)? {
                let part =
                    super::call(server, token, "POST", "/api/import/hypothesis", Some(batch))
                        .await?;
                report = merge(report, part);
            }
            report
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

/// The most JSON one request carries (a server takes 1 MiB by default).
const BATCH_BYTES: usize = 512 * 1024;

/// The rows in requests of at most `limit` bytes each (a row larger than that goes alone),
/// top-level rows first and replies after their parents, so a reply's root is on the desk by
/// the time the reply arrives. A reply whose root was not imported is still skipped, though
/// the reason a later request gives is that the root is not on the desk.
fn batches(bytes: &[u8], limit: usize) -> anyhow::Result<Vec<Value>> {
    let mut rows = match serde_json::from_slice(bytes)? {
        Value::Array(rows) => rows,
        Value::Object(mut map) => {
            let mut rows = match map.remove("rows") {
                Some(Value::Array(rows)) => rows,
                _ => Vec::new(),
            };
            if let Some(Value::Array(replies)) = map.remove("replies") {
                rows.extend(replies);
            }
            rows
        }
        _ => Vec::new(),
    };
    rows.sort_by_key(|row| row["references"].as_array().map_or(0, Vec::len));
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    let mut size = 0;
    for row in rows {
        let len = row.to_string().len() + 1;
        if !batch.is_empty() && size + len > limit {
            batches.push(Value::Array(std::mem::take(&mut batch)));
            size = 0;
        }
        size += len;
        batch.push(row);
    }
    if !batch.is_empty() || batches.is_empty() {
        batches.push(Value::Array(batch));
    }
    Ok(batches)
}

/// Two reports as one: counts added, lists joined.
fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Null, b) => b,
        (Value::Number(x), Value::Number(y)) => {
            (x.as_u64().unwrap_or(0) + y.as_u64().unwrap_or(0)).into()
        }
        (Value::Array(mut x), Value::Array(y)) => {
            x.extend(y);
            Value::Array(x)
        }
        (Value::Object(mut x), Value::Object(y)) => {
            for (key, value) in y {
                let mine = x.remove(&key).unwrap_or(Value::Null);
                x.insert(key, merge(mine, value));
            }
            Value::Object(x)
        }
        (_, b) => b,
    }
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
        "orphaned (imported without a place, for a person to re-attach): {}\n",
        orphaned.len()
    ));
    for o in &orphaned {
        let anchoring = o["anchoring"].as_str().unwrap_or_default();
        let why = match anchoring {
            "ambiguous" => "its quote fits several places alike",
            _ => "its quote is nowhere in the text",
        };
        out.push_str(&format!(
            "  {} on {} ({anchoring}: {why}): {:?}\n",
            o["id"].as_str().unwrap_or_default(),
            o["article"].as_str().unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_go_in_batches_parents_first_and_reports_add_up() {
        let row = |id: &str, refs: &[&str]| json!({ "id": id, "references": refs, "text": "x".repeat(100) });
        let file = json!({ "rows": [row("r2", &["a", "r1"]), row("a", &[]), row("r1", &["a"])] });
        let batches = batches(file.to_string().as_bytes(), 300).unwrap();
        let ids: Vec<Vec<&str>> = batches
            .iter()
            .map(|b| {
                b.as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_str().unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(ids, [vec!["a", "r1"], vec!["r2"]]);
        let one = json!({ "rows": 2, "placed": { "exact": 1 }, "skipped": [{ "id": "x" }] });
        let two = json!({ "rows": 1, "placed": { "exact": 1, "fuzzy": 1 }, "skipped": [] });
        assert_eq!(
            merge(merge(Value::Null, one), two),
            json!({ "rows": 3, "placed": { "exact": 2, "fuzzy": 1 }, "skipped": [{ "id": "x" }] })
        );
    }
}
