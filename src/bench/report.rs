//! The printed report. Tables are Markdown, so that they paste into an issue or a
//! design note as they are; rows are printed as soon as they are measured.

use std::time::Duration;

use super::{load::Outcome, pgbench};

pub fn pgbench_header(scale: usize, seconds: u64) {
    println!("\npgbench TPC-B-like, scale {scale}, {seconds} s per run:\n");
    println!("| clients |       tps | latency avg ms |");
    println!("|--------:|----------:|---------------:|");
}

pub fn pgbench_row(run: &pgbench::Run) {
    println!(
        "| {:>7} | {:>9.0} | {:>14.2} |",
        run.clients, run.tps, run.latency_avg_ms
    );
}

pub fn ledger_header(seconds: u64) {
    println!("\nledger::submit, {seconds} s per row, one transfer per entry, latency per call:\n");
    println!(
        "| workload        | writers | entries/call | transfers/s |   p50 ms |   p99 ms \
         | × pgbench tps (same clients) | errors |"
    );
    println!(
        "|-----------------|--------:|-------------:|------------:|---------:|---------:\
         |-----------------------------:|-------:|"
    );
}

/// `pgbench_tps` is the baseline at the same client count, if it was measured.
pub fn ledger_row(outcome: &Outcome, pgbench_tps: Option<f64>) {
    let transfers_per_sec = outcome.transfers_per_sec();
    let ratio = pgbench_tps.map_or_else(
        || "–".to_owned(),
        |tps| format!("{:.2}", transfers_per_sec / tps),
    );
    println!(
        "| {:<15} | {:>7} | {:>12} | {:>11.0} | {:>8.2} | {:>8.2} | {:>28} | {:>6} |",
        outcome.scenario.workload.name(),
        outcome.scenario.writers,
        outcome.scenario.batch,
        transfers_per_sec,
        millis(outcome.latency(500)),
        millis(outcome.latency(990)),
        ratio,
        outcome.error_count(),
    );
}

/// Spells out the `errors` column, which should be all zeros.
pub fn errors(outcomes: &[Outcome]) {
    for outcome in outcomes.iter().filter(|o| !o.errors.is_empty()) {
        let scenario = &outcome.scenario;
        println!(
            "\nerrors in {} × {} writers × {} entries/call:",
            scenario.workload.name(),
            scenario.writers,
            scenario.batch
        );
        for (message, count) in &outcome.errors {
            println!("  {count:>6}  {message}");
        }
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
