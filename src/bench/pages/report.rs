//! What `bench pages` prints and writes: a row a page and a row a job, the
//! numbers in JSON for the next run, and each page's ratio to a baseline run.

use std::{collections::HashMap, path::Path, time::Duration};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::catalog::Role;

/// One page's measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageRow {
    pub role: Role,
    pub route: String,
    /// What was fetched; empty when no page of the route was linked.
    pub path: String,
    /// The HTTP status; 0 when nothing was fetched.
    pub status: u16,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub bytes: usize,
    /// Table rows on an HTML page, lines of a CSV.
    pub rows: usize,
    /// Why the row is not a measurement, if it is not.
    pub problem: Option<String>,
}

impl PageRow {
    /// Fetched, and not answered with a 2xx.
    pub fn is_error(&self) -> bool {
        !self.is_absent() && (self.problem.is_some() || !ok(self.status))
    }

    /// The route has nothing to show in this database (no link to such a page).
    pub fn is_absent(&self) -> bool {
        self.path.is_empty()
    }
}

fn ok(status: u16) -> bool {
    (200..300).contains(&status)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRow {
    pub job: String,
    pub runs: usize,
    pub p50_ms: f64,
    pub max_ms: f64,
    pub did: String,
    pub committed: bool,
}

/// A whole run, as `--json` writes it and `--baseline` reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub repeat: usize,
    pub pgbench_tps_8_clients: Option<f64>,
    pub pages: Vec<PageRow>,
    pub jobs: Vec<JobRow>,
}

/// The `p`th percentile (nearest rank) of `times`: the smallest time with at
/// least `p`% of them at or below it.
pub fn percentile(times: &[Duration], p: usize) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let rank = (p * sorted.len())
        .div_ceil(100)
        .clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

pub fn ms(time: Duration) -> f64 {
    time.as_secs_f64() * 1_000.0
}

/// How many rows a body shows: `<tr` on a page, lines in a file.
pub fn rows_in(body: &str) -> usize {
    match body.matches("<tr").count() {
        0 => body.lines().count(),
        rows => rows,
    }
}

pub fn print(run: &Run, baseline: Option<&Run>) {
    let earlier: HashMap<(Role, &str), f64> = baseline
        .map(|b| {
            b.pages
                .iter()
                .filter(|row| !row.is_absent())
                .map(|row| ((row.role, row.path.as_str()), row.p50_ms))
                .collect()
        })
        .unwrap_or_default();
    println!(
        "\npages: wall time of each GET over loopback, from sending to the last byte, \
         {} times each",
        run.repeat
    );
    println!(
        "{:<8} {:<58} {:>6} {:>9} {:>9} {:>9} {:>6}{}",
        "role",
        "page",
        "status",
        "p50 ms",
        "p95 ms",
        "bytes",
        "rows",
        if baseline.is_some() { "   × base" } else { "" }
    );
    for row in &run.pages {
        if row.is_absent() {
            println!(
                "{:<8} {:<58} {:>6} {}",
                row.role.to_string(),
                row.route,
                "-",
                row.problem.as_deref().unwrap_or("")
            );
            continue;
        }
        let ratio = earlier
            .get(&(row.role, row.path.as_str()))
            .filter(|base| **base > 0.0)
            .map(|base| format!("   {:>5.2}×", row.p50_ms / base))
            .unwrap_or_default();
        println!(
            "{:<8} {:<58} {:>6} {:>9.1} {:>9.1} {:>9} {:>6}{ratio}{}",
            row.role.to_string(),
            row.path,
            row.status,
            row.p50_ms,
            row.p95_ms,
            row.bytes,
            row.rows,
            row.problem
                .as_deref()
                .map(|p| format!("  ERROR {p}"))
                .unwrap_or_default()
        );
    }
    let earlier_jobs: HashMap<&str, f64> = baseline
        .map(|b| b.jobs.iter().map(|j| (j.job.as_str(), j.p50_ms)).collect())
        .unwrap_or_default();
    println!(
        "\njobs: {}",
        if run.jobs.first().is_some_and(|j| j.committed) {
            "committed (--jobs)"
        } else {
            "each run in a transaction rolled back afterwards"
        }
    );
    println!(
        "{:<32} {:>4} {:>9} {:>9}  did",
        "job", "runs", "p50 ms", "max ms"
    );
    for job in &run.jobs {
        let ratio = earlier_jobs
            .get(job.job.as_str())
            .filter(|base| **base > 0.0)
            .map(|base| format!("  ({:.2}× base)", job.p50_ms / base))
            .unwrap_or_default();
        println!(
            "{:<32} {:>4} {:>9.1} {:>9.1}  {}{ratio}",
            job.job, job.runs, job.p50_ms, job.max_ms, job.did
        );
    }
    match run.pgbench_tps_8_clients {
        Some(tps) => println!("\npgbench TPC-B-like, 8 clients, same server: {tps:.0} tps"),
        None => println!("\npgbench: skipped"),
    }
    let errors = run.pages.iter().filter(|row| row.is_error()).count();
    let absent = run.pages.iter().filter(|row| row.is_absent()).count();
    println!(
        "{} pages timed, {errors} errors, {absent} routes with nothing to show in this database",
        run.pages.len() - absent
    );
}

pub fn write_json(run: &Run, path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_vec_pretty(run)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn read_json(path: &Path) -> anyhow::Result<Run> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a bench pages run", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let times: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&times, 50), Duration::from_millis(10));
        assert_eq!(percentile(&times, 95), Duration::from_millis(19));
        assert_eq!(percentile(&times, 100), Duration::from_millis(20));
        assert_eq!(percentile(&times[..1], 95), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }
}
