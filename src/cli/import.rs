//! `alliance import members|lots|orders --merchant CODE FILE`: brings a
//! merchant's existing programme into the alliance (see `crate::import`).
//! Prints every invalid row by line and column; exits 1 when rows were refused.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::Instant,
};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use crate::{
    config::Config,
    crypto::Keys,
    domain::actor::Actor,
    import::{self, ImportRequest, Kind, Outcome, Shown, State},
};

use super::connect;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum What {
    /// Columns `phone,name,tier,joined_at`.
    Members,
    /// Columns `phone,points,earned_at,expires_at`.
    Lots,
    /// Columns `phone,order_id,amount_cny,occurred_at,store_code,refunded_cny`.
    Orders,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the file holds.
    what: What,
    /// The merchant whose programme it is, by code (e.g. BREW).
    #[arg(long, value_name = "CODE")]
    merchant: String,
    /// The CSV file: UTF-8 (a BOM is fine) or GBK as Excel saves it.
    file: PathBuf,
    /// Book the valid rows and write the invalid ones to `--rejects`, instead
    /// of booking nothing while any row is invalid.
    #[arg(long)]
    skip_invalid: bool,
    /// Where `--skip-invalid` writes the rejected rows [default: FILE.rejected.csv].
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// Orders only: credit the points the orders earn at the programme's rate.
    #[arg(long)]
    award: bool,
}

/// Problems printed before the rest are summarised.
const PRINTED_PROBLEMS: usize = 200;

pub fn run(config: &Config, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let kind = match args.what {
        What::Members => Kind::Members,
        What::Lots => Kind::Lots,
        What::Orders => Kind::Orders,
    };
    let file_name = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let request = ImportRequest {
        kind,
        merchant_code: &args.merchant,
        file_name: &file_name,
        bytes: &bytes,
        skip_invalid: args.skip_invalid,
        award: args.award,
    };
    let keys = Keys::derive(config.secret_key());
    let actor = Actor::system("alliance import");
    let started = Instant::now();
    let outcome = import::run(
        &mut connect(config)?,
        &keys,
        &actor,
        &request,
        &Shown::new(kind),
    )?;
    report(&outcome, started);
    if args.skip_invalid && !outcome.rejections.is_empty() {
        let path = args
            .rejects
            .clone()
            .unwrap_or_else(|| rejects_path(&args.file));
        write_rejects(&path, &bytes, kind, &outcome)?;
        println!("rejected rows written to {}", path.display());
    }
    Ok(match outcome.state {
        State::Finished { .. } | State::AlreadyImported(_) if outcome.rejections.is_empty() => {
            ExitCode::SUCCESS
        }
        _ => ExitCode::FAILURE,
    })
}

fn report(outcome: &Outcome, started: Instant) {
    for rejection in outcome.rejections.iter().take(PRINTED_PROBLEMS) {
        println!("  {rejection}");
    }
    if outcome.rejections.len() > PRINTED_PROBLEMS {
        println!(
            "  … and {} more problems",
            outcome.rejections.len() - PRINTED_PROBLEMS
        );
    }
    let rejected = import::rejected_lines(&outcome.rejections).len();
    match &outcome.state {
        State::Refused => println!(
            "import refused: {rejected} of {} rows are invalid; nothing was booked \
             (fix them, or pass --skip-invalid to book the valid rows)",
            outcome.rows_total
        ),
        State::AlreadyImported(import) => println!(
            "import #{}: this file was imported in full on {}; nothing booked",
            import.id,
            import
                .finished_at
                .unwrap_or(import.started_at)
                .format("%Y-%m-%d %H:%M UTC")
        ),
        State::Finished {
            import,
            resumed_from,
        } => {
            let seconds = started.elapsed().as_secs_f64();
            if *resumed_from > 0 {
                println!(
                    "import #{}: resumed after {resumed_from} of {} units",
                    import.id, import.units_total
                );
            }
            println!(
                "import #{}: {} rows read, {} booked, {rejected} rejected, in {seconds:.1} s ({:.0} rows/s)",
                import.id,
                outcome.rows_total,
                import.rows_booked,
                f64::from(u32::try_from(outcome.rows_total).unwrap_or(u32::MAX))
                    / seconds.max(0.001),
            );
        }
    }
}

fn rejects_path(file: &Path) -> PathBuf {
    let mut name = file.file_stem().unwrap_or_default().to_os_string();
    name.push(".rejected.csv");
    file.with_file_name(name)
}

/// The rejected rows as they were, with their line and problems, so the file
/// can be corrected and imported again.
fn write_rejects(path: &Path, bytes: &[u8], kind: Kind, outcome: &Outcome) -> anyhow::Result<()> {
    let lines = import::rejected_lines(&outcome.rejections);
    let records = import::records_on(bytes, kind, &lines)?;
    let mut writer =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut header: Vec<&str> = kind.columns().to_vec();
    header.extend(["line", "problems"]);
    writer.write_record(&header)?;
    for record in records {
        let problems: Vec<String> = outcome
            .rejections
            .iter()
            .filter(|r| r.line == record.line)
            .map(|r| format!("{}: {}", r.column, r.problem))
            .collect();
        let mut row = record.fields.clone();
        row.extend([record.line.to_string(), problems.join("; ")]);
        writer.write_record(&row)?;
    }
    writer.flush()?;
    Ok(())
}
