//! Exports and report builds that take longer than a request should: the
//! caller hands over a closure that builds the file's bytes with a database
//! connection and reports its progress; the export runs on a thread of its
//! own (see [`Runner`]) while the person watches its page, and the finished
//! file is kept in `report_exports` so that any server process can serve it.
//!
//! Who may see an export: the operator who asked for it; for a merchant's
//! export, every user of the merchant who reads its reports (owner, manager),
//! and the user who asked for it, unless it is a report (a cashier may ask for
//! none, and must not read one the owner asked for). Results go a week after
//! they finish.

pub mod audit_log;
mod progress;
mod runner;
mod store;

use diesel_derive_newtype::DieselNewType;

use crate::domain::id::MerchantId;
use crate::error::{Class, Classify};

pub use progress::Progress;
pub use runner::Runner;
pub use store::{
    Download, Export, Failure, Status, fail_interrupted, find, list, open, purge_finished,
};

/// Finished files larger than this are refused (the build fails as
/// `too_large`): a file is held in memory to be stored and served, and a
/// bigger one wants a narrower filter.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// How many exports one server process builds at once; the others wait,
/// queued. Each build holds a database connection for as long as it runs.
pub const CONCURRENT_BUILDS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, DieselNewType)]
pub struct ExportId(pub i64);

impl std::fmt::Display for ExportId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Who asked for an export, or who is looking at exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    Operator(i64),
    MerchantUser {
        merchant_id: MerchantId,
        user_id: i64,
        /// Whether this user reads the merchant's reports (owner, manager):
        /// they see all the merchant's exports; anyone else sees only their
        /// own, and never a report's.
        reads_reports: bool,
    },
}

/// Kinds of exports that hold a report (`report.liability`, ...).
pub const REPORT_KIND_PREFIX: &str = "report.";

/// What to build, for whom, and how the result is served.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    pub requester: Requester,
    /// What builds it: `audit`, `report.liability`, ...
    pub kind: String,
    /// Shown on the exports pages, in the requester's language.
    pub title: String,
    /// The download's file name.
    pub filename: String,
    pub content_type: String,
    /// What it was asked with (the filter), kept with the export and audited.
    pub params: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The export's row must be committed before the build may look for it.
    #[error("exports are started outside a transaction")]
    InTransaction,
    #[error("the export runner has stopped")]
    RunnerStopped,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Starting an export refuses nothing: what can go wrong is the system's.
impl Classify for ExportError {
    fn class(&self) -> Class {
        match self {
            Self::InTransaction | Self::RunnerStopped | Self::Database(_) => Class::System,
        }
    }
}
