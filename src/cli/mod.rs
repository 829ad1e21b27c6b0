//! The `alliance` command line: one subcommand per way of running Alliance.

mod import;
mod merchant;
mod operator;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use diesel::{Connection, PgConnection};

use crate::{
    bench, config::Config, crypto::Keys, dataset, db, demo, jobs, ledger, settlement,
    startup::Application, telemetry,
};

#[derive(Debug, Parser)]
#[command(
    name = "alliance",
    version,
    about = "Alliance — points-alliance clearing house (积分联盟清算中心)"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server (portals, partner API and periodic jobs).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Load the demo data and its sign-in accounts (safe to run again: nothing is
    /// added twice).
    SeedDemo {
        /// `large`: instead, an alliance-sized data set (50 merchants, 100,000
        /// members, over a million transfers over 12 months) through the import.
        #[arg(long, value_enum, default_value = "small")]
        scale: DemoScale,
    },
    /// Bring a merchant's existing programme in from CSV: its members, their
    /// opening balances (lots) or its order history.
    Import(import::ImportArgs),
    /// Manage partner merchants' API keys.
    Merchant {
        #[command(subcommand)]
        command: merchant::MerchantCommand,
    },
    /// Manage platform operators.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Inspect the books.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Run a periodic job once, now.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Measure throughput and latency.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Play seeded random sequences of everything members, merchants and
    /// operators do, checking the books after every step (scratch databases
    /// on the configured server; the configured database is not touched).
    Simulate(crate::sim::SimulateArgs),
}

/// How much demo data `seed-demo` loads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DemoScale {
    /// The demo: a few merchants and members with their sign-ins.
    Small,
    /// An alliance: see `crate::dataset`.
    Large,
}

#[derive(Debug, Subcommand)]
enum OperatorCommand {
    /// Create an operator who can sign in at once — the way to the first admin.
    Create(operator::CreateArgs),
    /// Remove a locked-out operator's second factor (lost phone and recovery
    /// codes), on an admin's authority; they set a new one up at next sign-in.
    ResetSecondFactor(operator::ResetSecondFactorArgs),
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Prove every balance from the transfers alone; exit 1 naming what is wrong.
    Verify,
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Void holds whose timeout has passed.
    ExpireHolds,
    /// Move points whose lots have expired to breakage.
    ExpirePoints,
    /// Downgrade members whose trailing 12-month spend no longer keeps their tier.
    ReviewTiers,
    /// Run the exchange rate model and publish every program's rates.
    PublishRates,
    /// Run a job by name now.
    Run {
        #[command(subcommand)]
        job: RunJob,
    },
}

#[derive(Debug, Subcommand)]
enum RunJob {
    /// Settle the merchants' periods that have ended (each settles once, however
    /// often this runs).
    Settlement {
        /// Only this merchant (its code).
        #[arg(long)]
        merchant: Option<String>,
        /// Settle the periods that ended by 00:00 (Asia/Shanghai) of this date,
        /// YYYY-MM-DD; today when omitted. A later date is refused: a period
        /// is settled only once it has ended.
        #[arg(long, value_name = "YYYY-MM-DD")]
        period: Option<chrono::NaiveDate>,
    },
    /// Take overdue settlement amounts from deposits and mark the rest overdue.
    Collections,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Ledger write throughput against a pgbench baseline on the same server.
    Ledger(bench::LedgerBenchArgs),
    /// Every portal page (p50/p95 over repeated GETs) and every job on the
    /// configured database, beside pgbench; see `src/bench/pages.rs`.
    Pages(bench::PagesBenchArgs),
    /// `alliance import` of members and lots into a scratch database, beside
    /// pgbench at 8 clients; see `src/bench/import.rs`.
    Import(bench::ImportBenchArgs),
}

impl Cli {
    pub fn run(self) -> ExitCode {
        let config = match Config::from_env() {
            Ok(config) => config,
            Err(e) => {
                eprintln!("alliance: {e}");
                return ExitCode::from(2);
            }
        };
        telemetry::init(config.environment);
        match self.command.run(&config) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("alliance: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}

impl Command {
    fn run(self, config: &Config) -> anyhow::Result<ExitCode> {
        match self {
            Self::Serve => serve(config),
            Self::Migrate => {
                let applied = db::migrate(&mut connect(config)?).map_err(|e| anyhow::anyhow!(e))?;
                if applied.is_empty() {
                    println!("migrations: none pending");
                } else {
                    println!(
                        "migrations applied: {} ({})",
                        applied.len(),
                        applied.join(", ")
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Self::SeedDemo { scale } => seed_demo(config, scale),
            Self::Import(args) => import::run(config, &args),
            Self::Merchant { command } => command.run(config),
            Self::Operator {
                command: OperatorCommand::Create(args),
            } => {
                operator::create(&mut connect(config)?, &args)?;
                Ok(ExitCode::SUCCESS)
            }
            Self::Operator {
                command: OperatorCommand::ResetSecondFactor(args),
            } => {
                operator::reset_second_factor(&mut connect(config)?, &args)?;
                Ok(ExitCode::SUCCESS)
            }
            Self::Ledger {
                command: LedgerCommand::Verify,
            } => verify(config),
            Self::Jobs { command } => {
                let pool = db::pool(config.database_url(), 1)?;
                match command {
                    JobsCommand::ExpireHolds => {
                        println!("voided {} expired holds", jobs::expire_holds(&pool)?);
                    }
                    JobsCommand::ExpirePoints => {
                        println!("expired points from {} lots", jobs::expire_points(&pool)?);
                    }
                    JobsCommand::ReviewTiers => {
                        println!("downgraded {} members", jobs::review_tiers(&pool)?);
                    }
                    JobsCommand::Run {
                        job: RunJob::Settlement { merchant, period },
                    } => {
                        let summary = settle(config, &pool, merchant.as_deref(), period)?;
                        match summary.run {
                            Some(run) => println!(
                                "settlement run #{run}: {} statements, {} exceptions",
                                summary.settled,
                                summary.exceptions.len()
                            ),
                            None => println!("settlement: nothing due"),
                        }
                        for e in &summary.exceptions {
                            println!("  merchant {}: {}", e.merchant_id, e.error);
                        }
                        if !summary.exceptions.is_empty() {
                            return Ok(ExitCode::FAILURE);
                        }
                    }
                    JobsCommand::Run {
                        job: RunJob::Collections,
                    } => {
                        println!("reviewed {} due collections", jobs::collect_overdue(&pool)?);
                    }
                    JobsCommand::PublishRates => {
                        let publication = jobs::publish_rates(&pool)?;
                        println!(
                            "published rate set #{} for {} programs",
                            publication.id, publication.programs
                        );
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            Self::Bench { command } => command.run(config),
            Self::Simulate(args) => {
                crate::sim::simulate(config, &args)?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

impl BenchCommand {
    fn run(self, config: &Config) -> anyhow::Result<ExitCode> {
        match self {
            Self::Ledger(args) => {
                bench::ledger(config, &args)?;
                Ok(ExitCode::SUCCESS)
            }
            Self::Import(args) => {
                bench::import(config, &args)?;
                Ok(ExitCode::SUCCESS)
            }
            // A page that did not answer with a 2xx fails the command.
            Self::Pages(args) => Ok(if bench::pages(config, &args)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }),
        }
    }
}

/// An operator's settlement run from the command line.
fn settle(
    config: &Config,
    pool: &db::PgPool,
    merchant: Option<&str>,
    through: Option<chrono::NaiveDate>,
) -> anyhow::Result<settlement::run::Summary> {
    let mut conn = pool.get()?;
    let merchant_id = match merchant {
        Some(code) => Some(
            crate::merchant::find_by_code(&mut conn, code)?
                .with_context(|| format!("no merchant with code {code}"))?
                .id,
        ),
        None => None,
    };
    Ok(settlement::run::run(
        &mut conn,
        &Keys::derive(config.secret_key()),
        &crate::domain::actor::Actor::system("alliance jobs run settlement"),
        settlement::run::RunRequest {
            trigger: settlement::run::Trigger::Operator,
            merchant_id,
            through: through
                .unwrap_or_else(|| crate::domain::shanghai::date_of(crate::clock::now())),
        },
    )?)
}

fn connect(config: &Config) -> anyhow::Result<PgConnection> {
    PgConnection::establish(config.database_url())
        .context("cannot connect to the database (ALLIANCE_DATABASE_URL)")
}

fn serve(config: &Config) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let app = Application::build(config)?;
        tracing::info!(port = app.port(), environment = %config.environment, "Alliance is listening");
        app.run_until(crate::startup::stop_requested()).await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn seed_demo(config: &Config, scale: DemoScale) -> anyhow::Result<ExitCode> {
    // Members' phone numbers are encrypted and indexed with the keys the
    // server derives, so the server finds what the seed wrote.
    let keys = Keys::derive(config.secret_key());
    let mut conn = connect(config)?;
    match scale {
        DemoScale::Small => println!("{}", demo::seed(&mut conn, &keys)?),
        DemoScale::Large => {
            let show = |kind| -> Box<dyn crate::import::Progress> {
                Box::new(crate::import::Shown::new(kind))
            };
            let summary = dataset::build(&mut conn, &keys, &dataset::Scale::LARGE, &show)?;
            println!("{summary}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(config: &Config) -> anyhow::Result<ExitCode> {
    let report = ledger::verify(&mut connect(config)?)?;
    if report.is_clean() {
        println!("ledger verify: clean");
        return Ok(ExitCode::SUCCESS);
    }
    println!("ledger verify: {} finding(s)", report.findings.len());
    for finding in &report.findings {
        println!("  {}", serde_json::to_string(finding)?);
    }
    Ok(ExitCode::FAILURE)
}
