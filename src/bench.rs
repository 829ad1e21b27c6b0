//! Benchmarks.
#[derive(Debug, clap::Args)]
pub struct LedgerBenchArgs {}
pub fn ledger(_c: &crate::config::Config, _a: &LedgerBenchArgs) -> anyhow::Result<()> {
    Ok(())
}
