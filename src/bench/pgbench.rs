//! The baseline: pgbench's built-in TPC-B-like script (three UPDATEs, a SELECT and
//! an INSERT in one transaction) against the same server.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};

use super::scratch::Libpq;

/// One pgbench run at a given client count.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub clients: usize,
    pub tps: f64,
    pub latency_avg_ms: f64,
}

/// pgbench on `PATH`, else the newest one PostgreSQL's Debian packages install.
pub fn find() -> anyhow::Result<PathBuf> {
    let on_path: Vec<PathBuf> = env::var_os("PATH")
        .map(|path| {
            env::split_paths(&path)
                .map(|dir| dir.join("pgbench"))
                .collect()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(packaged())
        .find(|candidate| candidate.is_file())
        .context(
            "pgbench is neither on PATH nor under /usr/lib/postgresql/*/bin \
             (install it, or pass --skip-pgbench)",
        )
}

/// `/usr/lib/postgresql/<major>/bin/pgbench`, newest major first.
fn packaged() -> Vec<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut majors: Vec<u32> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    majors.sort_unstable_by(|a, b| b.cmp(a));
    majors
        .into_iter()
        .map(|major| root.join(major.to_string()).join("bin/pgbench"))
        .collect()
}

/// Loads pgbench's tables at `scale` (`scale` × 100,000 accounts).
pub fn initialize(pgbench: &Path, db: &Libpq, scale: usize) -> anyhow::Result<()> {
    invoke(pgbench, db, &["-i", "-q", "-s", &scale.to_string()]).map(drop)
}

/// Runs the TPC-B-like script with `clients` connections for `seconds`.
pub fn run(pgbench: &Path, db: &Libpq, clients: usize, seconds: u64) -> anyhow::Result<Run> {
    // pgbench's own threads share the cores with the server; two are enough to
    // keep many asynchronous clients busy without starving PostgreSQL.
    let threads = clients.min(2);
    let stdout = invoke(
        pgbench,
        db,
        &[
            "-n", // the tables were just loaded and vacuumed
            "-c",
            &clients.to_string(),
            "-j",
            &threads.to_string(),
            "-T",
            &seconds.to_string(),
        ],
    )?;
    let (tps, latency_avg_ms) = parse(&stdout)
        .with_context(|| format!("cannot find tps and latency in pgbench's output:\n{stdout}"))?;
    Ok(Run {
        clients,
        tps,
        latency_avg_ms,
    })
}

/// Runs pgbench with `args` against `db`; its stdout on success.
fn invoke(pgbench: &Path, db: &Libpq, args: &[&str]) -> anyhow::Result<String> {
    let mut command = Command::new(pgbench);
    // The database goes last: options after it are not portable across getopt.
    command.args(args).arg(&db.conninfo);
    if let Some(password) = &db.password {
        command.env("PGPASSWORD", password);
    }
    let output = command
        .output()
        .with_context(|| format!("cannot start {}", pgbench.display()))?;
    if !output.status.success() {
        bail!(
            "pgbench {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Reads `tps = X (without initial connection time)` and `latency average = Y ms`.
fn parse(stdout: &str) -> Option<(f64, f64)> {
    let value = |prefix: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse().ok())
    };
    Some((value("tps = ")?, value("latency average = ")?))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_tps_and_latency_from_pgbench_15() {
        let stdout = "\
pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
number of clients: 8
latency average = 3.246 ms
initial connection time = 43.595 ms
tps = 2464.689509 (without initial connection time)
";
        assert_eq!(parse(stdout), Some((2_464.689_509, 3.246)));
    }
}
