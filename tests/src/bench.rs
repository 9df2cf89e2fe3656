//! Baselines the benchmarks share.

use std::time::Instant;

use autolock_core::report::csv_record;

/// The rows of a resource's report as one plain SQL join over the SQLite store's file reads
/// them, written by the report's own CSV writer into a byte count: how many rows, and how many a
/// second. The baseline of the report figures of `scripts/bench` and of
/// `cargo bench -p autolock-http --bench report`.
#[must_use]
pub fn plain_report_join(db: &std::path::Path, resource: &str) -> (usize, f64) {
    let c = rusqlite::Connection::open(db).expect("the store's file opens");
    let started = Instant::now();
    let mut s = c
        .prepare(
            "SELECT g.resource_id, r.name, g.group_id, u.id, u.email, u.active, us.data
             FROM grants g JOIN resources r ON r.id = g.resource_id
             JOIN memberships m ON m.group_id = g.group_id AND m.end_at IS NULL
             JOIN users u ON u.id = m.user_id
             LEFT JOIN usage us ON us.user_id = u.id AND us.resource_id = g.resource_id
             WHERE g.resource_id = ?1 AND g.end_at IS NULL ORDER BY u.id",
        )
        .expect("the join prepares");
    let mut q = s.query([resource]).expect("the join runs");
    let (mut rows, mut bytes) = (0usize, 0usize);
    while let Some(row) = q.next().expect("a row") {
        let fields: Vec<String> = (0..7)
            .map(|i| match row.get_ref(i).expect("a column") {
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                _ => String::new(),
            })
            .collect();
        bytes += csv_record(fields.iter().map(String::as_str)).len();
        rows += 1;
    }
    assert!(rows > 0 && bytes > 0, "the resource has rights");
    #[allow(clippy::cast_precision_loss)]
    let rate = rows as f64 / started.elapsed().as_secs_f64();
    (rows, rate)
}

/// The median of some figures (the upper middle one of an even count).
#[must_use]
pub fn median(mut of: Vec<f64>) -> f64 {
    of.sort_by(f64::total_cmp);
    of[of.len() / 2]
}
