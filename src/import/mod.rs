//! Importing a merchant's existing programme (`alliance import`): its members,
//! their opening balances as lots, and its order history, from CSV.
//!
//! **Validate, then book.** The whole file is read and every row checked —
//! fields, then what only the database knows (tiers, stores, which phones are
//! this merchant's members) — before anything is booked. A file with a bad row
//! books nothing unless the caller asked to skip invalid rows.
//!
//! **Once, whatever happens.** Rows are booked in batches of *units* (a member,
//! a member's lots, an order); each batch commits in one transaction with the
//! import's progress (`imports.units_done`). A run killed half-way resumes, on
//! the next run of the same file, after the last batch that committed; a run of
//! a file already imported books nothing. Below that, every booking is
//! idempotent on its own: members by their blind-indexed phone, orders by
//! `(merchant, order id)`, and a member's opening balance by a ledger key per
//! member and programme — so even the same rows in another file (reordered,
//! renamed) are never booked twice: they replay, or, with other figures, are
//! refused row by row.
//!
//! **Effective time.** Opening balances and awarded orders are booked through
//! the ledger (`import_opening`, `import_award` entries), backdated: an award
//! to when its order happened, an opening balance to when the merchant joined
//! — never before the merchant joined the alliance, and never into a period
//! already settled (the import's `effective_floor`, fixed at its first run).
//! Lots keep the time their points were earned, for FIFO and expiry.
//!
//! **Lock order** (as in `earn::lot`): the batch's member rows in id order,
//! then the ledger's balance rows in one `submit`, then only inserts.

mod lots;
mod members;
mod orders;
pub mod record;
pub mod rows;
mod shown;
pub mod source;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ring::digest;

use crate::{
    crypto::Keys,
    db::schema::settlement_statements,
    domain::actor::Actor,
    domain::text_enum::text_enum,
    error::{Class, Classify, Kind as RefusalKind, Message, Refusal},
    ledger::{EntryError, LedgerError},
    merchant::{self, Merchant},
    people::PeopleError,
    program::{self, Program},
};

pub use self::{
    record::{Import, Status},
    rows::{Problem, Rejection},
    shown::Shown,
    source::{FileError, Record},
};

text_enum! {
    /// What a file holds.
    pub enum Kind {
        /// `phone,name,tier,joined_at`
        Members => "members",
        /// `phone,points,earned_at,expires_at`
        Lots => "lots",
        /// `phone,order_id,amount_cny,occurred_at,store_code,refunded_cny`
        Orders => "orders",
    }
}

impl Kind {
    /// The columns its file has, in any order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Members => members::COLUMNS,
            Self::Lots => lots::COLUMNS,
            Self::Orders => orders::COLUMNS,
        }
    }
}

/// One file to import.
#[derive(Debug, Clone)]
pub struct ImportRequest<'a> {
    pub kind: Kind,
    pub merchant_code: &'a str,
    /// As the operator named it; shown in the list of imports.
    pub file_name: &'a str,
    pub bytes: &'a [u8],
    /// Book the valid rows and report the others, instead of booking nothing.
    pub skip_invalid: bool,
    /// Orders only: award the points the orders earn at the programme's rate.
    pub award: bool,
}

/// Told how an import goes, to show progress.
pub trait Progress {
    /// Booking starts: `total` units, of which `done` committed in earlier runs.
    fn start(&self, total: u64, done: u64);
    /// `units` more committed.
    fn advance(&self, units: u64);
    fn finish(&self);
}

/// How an import ended.
#[derive(Debug)]
pub struct Outcome {
    pub rows_total: usize,
    /// Every problem found, by line; with rows rejected, nothing was booked
    /// unless `skip_invalid`.
    pub rejections: Vec<Rejection>,
    pub state: State,
}

#[derive(Debug)]
pub enum State {
    /// Rows were invalid and `skip_invalid` was not asked: nothing booked.
    Refused,
    /// The same file was imported in full before: nothing booked.
    AlreadyImported(Box<Import>),
    /// Booked (or resumed and finished); `resumed_from` units were done before.
    Finished {
        import: Box<Import>,
        resumed_from: usize,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("no merchant {0}")]
    UnknownMerchant(String),
    #[error("merchant {0} has no points programme to import into")]
    NoProgram(String),
    #[error("only orders can be awarded points")]
    AwardNotOrders,
    #[error("the file cannot be read: {0}")]
    File(#[from] FileError),
    #[error(transparent)]
    People(#[from] PeopleError),
    #[error("the ledger refused an import entry: {0}")]
    Entry(#[from] EntryError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
}

impl Classify for ImportError {
    fn class(&self) -> Class {
        let refusal =
            |slug, message| Class::Refusal(Refusal::new(RefusalKind::Unprocessable, slug, message));
        match self {
            Self::UnknownMerchant(code) => Class::Refusal(Refusal::new(
                RefusalKind::NotFound,
                "unknown-merchant",
                Message::new("import.error.unknown_merchant").arg("code", code),
            )),
            Self::NoProgram(code) => refusal(
                "no-program",
                Message::new("import.error.no_program").arg("code", code),
            ),
            Self::AwardNotOrders => refusal(
                "award-not-orders",
                Message::new("import.error.award_not_orders"),
            ),
            Self::File(e) => e.class(),
            // Names are checked when rows are parsed, so a refusal here is a bug.
            Self::People(_) | Self::Entry(_) | Self::Ledger(_) | Self::Database(_) => Class::System,
        }
    }
}

/// What every batch of one import books with.
pub(crate) struct Context<'a> {
    pub keys: &'a Keys,
    pub actor: &'a Actor,
    pub merchant: &'a Merchant,
    pub program: &'a Program,
    pub import_id: i64,
    pub effective_floor: DateTime<Utc>,
    pub award: bool,
}

/// What a batch booked: rows added, and rows the books refused (a member's
/// other opening balance, an order id with other figures).
#[derive(Debug, Default)]
pub(crate) struct Booked {
    pub rows: usize,
    pub refused: Vec<Rejection>,
}

/// The valid rows of a file, grouped into the units its batches book.
enum Plan {
    Members(Vec<members::Row>),
    Lots(Vec<lots::Group>),
    Orders(Vec<orders::Row>),
}

impl Plan {
    fn units(&self) -> usize {
        match self {
            Self::Members(rows) => rows.len(),
            Self::Lots(groups) => groups.len(),
            Self::Orders(rows) => rows.len(),
        }
    }

    /// Units per transaction: a few thousand rows each.
    fn batch(&self) -> usize {
        match self {
            Self::Members(_) | Self::Orders(_) => 2_000,
            Self::Lots(_) => 500,
        }
    }

    fn book(
        &self,
        conn: &mut PgConnection,
        ctx: &Context,
        units: std::ops::Range<usize>,
    ) -> Result<Booked, ImportError> {
        match self {
            Self::Members(rows) => members::book(conn, ctx, &rows[units]),
            Self::Lots(groups) => lots::book(conn, ctx, &groups[units]),
            Self::Orders(rows) => orders::book(conn, ctx, &rows[units]),
        }
    }
}

/// Imports one file: validates every row, then books in batches, resuming a
/// run of the same file that stopped. Call outside a transaction: each batch
/// commits on its own.
#[tracing::instrument(skip_all, fields(kind = %request.kind, merchant = request.merchant_code))]
pub fn run(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    request: &ImportRequest,
    progress: &dyn Progress,
) -> Result<Outcome, ImportError> {
    if request.award && request.kind != Kind::Orders {
        return Err(ImportError::AwardNotOrders);
    }
    let merchant = merchant::find_by_code(conn, request.merchant_code)?
        .ok_or_else(|| ImportError::UnknownMerchant(request.merchant_code.to_owned()))?;
    let program = program::of_merchant(conn, merchant.id)?
        .ok_or_else(|| ImportError::NoProgram(merchant.code.clone()))?;
    let table = source::read(request.bytes, request.kind.columns())?;
    let rows_total = table.records.len() + table.misshapen.len();
    let now = crate::clock::now();
    let (plan, mut rejections) = match request.kind {
        Kind::Members => {
            let parsed = members::validate(conn, table, now)?;
            (Plan::Members(parsed.rows), parsed.rejections)
        }
        Kind::Lots => {
            let parsed = lots::validate(conn, keys, &merchant, table, now)?;
            (Plan::Lots(parsed.rows), parsed.rejections)
        }
        Kind::Orders => {
            let parsed = orders::validate(conn, keys, &merchant, table, now)?;
            (Plan::Orders(parsed.rows), parsed.rejections)
        }
    };
    rejections.sort_by_key(|r| r.line);
    let rejected_rows = rejected_lines(&rejections).len();
    let outcome = |rejections, state| Outcome {
        rows_total,
        rejections,
        state,
    };
    if !rejections.is_empty() && !request.skip_invalid {
        return Ok(outcome(rejections, State::Refused));
    }

    let sha256 = digest::digest(&digest::SHA256, request.bytes);
    let file = record::FileIdentity {
        merchant_id: merchant.id,
        kind: request.kind,
        sha256: sha256.as_ref(),
        award: request.award,
        skip_invalid: request.skip_invalid,
    };
    let import = match record::latest_of(conn, &file)? {
        Some(done) if done.status == Status::Finished => {
            return Ok(outcome(rejections, State::AlreadyImported(Box::new(done))));
        }
        Some(stopped) => {
            record::resume(conn, stopped.id)?;
            stopped
        }
        None => {
            let size = record::Size {
                rows_total,
                rows_rejected: rejected_rows,
                units_total: plan.units(),
            };
            let floor = effective_floor(conn, &merchant)?.min(now);
            record::start(conn, &file, request.file_name, size, floor, actor)?
        }
    };
    let resumed_from = usize::try_from(import.units_done).expect("units are counted from 0");
    let ctx = Context {
        keys,
        actor,
        merchant: &merchant,
        program: &program,
        import_id: import.id,
        effective_floor: import.effective_floor,
        award: request.award,
    };
    progress.start(plan.units() as u64, resumed_from as u64);
    let booked = book_from(conn, &ctx, &plan, resumed_from, progress);
    progress.finish();
    match booked {
        Ok(mut refused) => {
            rejections.append(&mut refused);
            rejections.sort_by_key(|r| r.line);
            let import = record::finish(conn, import.id)?;
            Ok(outcome(
                rejections,
                State::Finished {
                    import: Box::new(import),
                    resumed_from,
                },
            ))
        }
        Err(error) => {
            record::fail(conn, import.id, &error.to_string())?;
            Err(error)
        }
    }
}

/// The lines of the file that have a problem.
pub fn rejected_lines(rejections: &[Rejection]) -> std::collections::BTreeSet<u64> {
    rejections.iter().map(|r| r.line).collect()
}

/// The records of `bytes` on `lines`, as read, for a file of rejected rows that
/// can be corrected and imported again.
pub fn records_on(
    bytes: &[u8],
    kind: Kind,
    lines: &std::collections::BTreeSet<u64>,
) -> Result<Vec<Record>, FileError> {
    Ok(source::read(bytes, kind.columns())?
        .records
        .into_iter()
        .filter(|record| lines.contains(&record.line))
        .collect())
}

/// Books the plan's units from `from` on, a batch per transaction with its
/// progress. Returns the rows the books refused.
fn book_from(
    conn: &mut PgConnection,
    ctx: &Context,
    plan: &Plan,
    from: usize,
    progress: &dyn Progress,
) -> Result<Vec<Rejection>, ImportError> {
    let mut refused = Vec::new();
    let total = plan.units();
    let mut at = from;
    while at < total {
        let end = (at + plan.batch()).min(total);
        let booked = conn.transaction(|conn| {
            let booked = plan.book(conn, ctx, at..end)?;
            record::advance(conn, ctx.import_id, end - at, booked.rows)?;
            Ok::<_, ImportError>(booked)
        })?;
        refused.extend(booked.refused);
        progress.advance((end - at) as u64);
        at = end;
    }
    Ok(refused)
}

/// The earliest time the import may book at: when the merchant joined the
/// alliance, or the end of its last settled period if that is later.
fn effective_floor(conn: &mut PgConnection, merchant: &Merchant) -> QueryResult<DateTime<Utc>> {
    let settled: Option<DateTime<Utc>> = settlement_statements::table
        .filter(settlement_statements::merchant_id.eq(merchant.id))
        .select(diesel::dsl::max(settlement_statements::period_end))
        .get_result(conn)?;
    Ok(settled.map_or(merchant.created_at, |end| end.max(merchant.created_at)))
}
