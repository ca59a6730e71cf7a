//! The side-by-side table (each case measured on both backends in one row, sled's figures next
//! to PostgreSQL's and the ratio of their throughputs), and one run against another
//! (`glossa-bench --compare A.json B.json`).

use super::Row;

/// Rows of `rows` paired by suite and case (sled, then PostgreSQL), in the order they ran;
/// `None` when nothing ran on PostgreSQL.
pub fn side_by_side(rows: &[Row]) -> Option<String> {
    let mut out = String::from(
        "| suite | case | sled /s | sled p50 ms | sled p99 ms | PostgreSQL /s | PostgreSQL p50 ms \
         | PostgreSQL p99 ms | PostgreSQL ÷ sled |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut paired = 0;
    for postgres in rows.iter().filter(|r| r.backend == "PostgreSQL") {
        let Some(sled) = rows
            .iter()
            .find(|r| r.backend == "sled" && r.suite == postgres.suite && r.case == postgres.case)
        else {
            continue;
        };
        paired += 1;
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} |\n",
            sled.suite,
            sled.case,
            sled.per_second,
            sled.p50_ms,
            sled.p99_ms,
            postgres.per_second,
            postgres.p50_ms,
            postgres.p99_ms,
            postgres.per_second / sled.per_second
        ));
    }
    (paired > 0).then_some(out)
}

/// What pairs a case across runs: its backend, suite and name before any parenthesised figures
/// (`appends … over 2 stores (every copy level 1 ms after the last)` is one case whatever the
/// figure).
fn key(row: &Row) -> (&str, &str, &str) {
    let name = row.case.split(" (").next().unwrap_or(&row.case);
    (row.backend.as_str(), row.suite.as_str(), name)
}

/// Run `b` against run `a`, case by case: throughput and p99 of each and their ratios (B ÷ A),
/// then the cases only one of them measured. An error when they have no case in common.
pub fn runs(a: &[Row], b: &[Row]) -> anyhow::Result<String> {
    let mut out = String::from(
        "| backend | suite | case | A /s | B /s | B ÷ A | A p99 ms | B p99 ms | B ÷ A p99 |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut paired = 0;
    for new in b {
        let Some(old) = a.iter().find(|old| key(old) == key(new)) else {
            continue;
        };
        paired += 1;
        let (backend, suite, case) = key(new);
        out.push_str(&format!(
            "| {backend} | {suite} | {case} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            old.per_second,
            new.per_second,
            new.per_second / old.per_second,
            old.p99_ms,
            new.p99_ms,
            new.p99_ms / old.p99_ms,
        ));
    }
    if paired == 0 {
        anyhow::bail!("the two runs have no case in common (same suites, same backends?)");
    }
    let unpaired = |these: &[Row], those: &[Row], label: &str, out: &mut String| {
        for row in these
            .iter()
            .filter(|r| those.iter().all(|t| key(t) != key(r)))
        {
            let (backend, suite, case) = key(row);
            out.push_str(&format!("only in {label}: {backend} | {suite} | {case}\n"));
        }
    };
    unpaired(a, b, "A", &mut out);
    unpaired(b, a, "B", &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(case: &str, per_second: f64, p99_ms: f64) -> Row {
        Row {
            backend: "sled".into(),
            suite: "appends".into(),
            case: case.into(),
            ops: 1,
            seconds: 1.0,
            per_second,
            p50_ms: 1.0,
            p99_ms,
        }
    }

    #[test]
    fn runs_pair_cases_by_name_whatever_their_figures() {
        let a = [
            row(
                "over 2 stores (every copy level 1 ms after the last)",
                1000.0,
                10.0,
            ),
            row("gone", 5.0, 1.0),
        ];
        let b = [
            row(
                "over 2 stores (every copy level 3 ms after the last)",
                1500.0,
                5.0,
            ),
            row("new", 7.0, 1.0),
        ];
        let table = runs(&a, &b).unwrap();
        assert!(
            table.contains(
                "| sled | appends | over 2 stores | 1000 | 1500 | 1.50 | 10.00 | 5.00 | 0.50 |"
            ),
            "{table}"
        );
        assert!(
            table.contains("only in A: sled | appends | gone"),
            "{table}"
        );
        assert!(table.contains("only in B: sled | appends | new"), "{table}");
    }

    #[test]
    fn runs_with_nothing_in_common_are_refused() {
        let error = runs(&[row("one", 1.0, 1.0)], &[row("other", 1.0, 1.0)]).unwrap_err();
        assert!(error.to_string().contains("no case in common"));
    }
}
