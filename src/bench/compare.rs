//! The side-by-side table: each case measured on both backends in one row, sled's figures
//! next to PostgreSQL's and the ratio of their throughputs.

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
