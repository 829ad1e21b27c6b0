//! The platform's reports (issue #9): liability by program, breakage, exchange
//! flows, redemptions by merchant and store, campaign results against budget,
//! deposit coverage and settlement status. Each report reads — the ledger's
//! views (`ledger::views`) or the domain tables — and never writes; each returns a
//! [`Table`] that the portals show and [`csv::to_csv`] writes to a file.
//!
//! Building a table and rendering it are separate plain functions, so a
//! background export can build a long report while reporting progress and
//! render the file afterwards.

pub mod csv;
pub mod filter;
pub mod region;
pub mod table;

mod breakage;
mod campaigns;
mod deposit_coverage;
mod exchange_flows;
mod liability;
mod redemptions;
mod settlement_status;

use std::collections::HashMap;

use diesel::{prelude::*, sql_types::Timestamptz};

use crate::{
    deposit::DepositError,
    domain::{
        money::{Money, Rounding},
        points::ProgramCode,
        rate::Rate,
    },
    error::{Class, Classify},
    i18n::Locale,
    merchant::{self, Merchant},
    overview::{self, OverviewError},
    program,
};

pub use filter::{FieldError, FilterField, FilterQuery, Filters};
pub use table::{Cell, Column, Table};

/// The reports there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Liability,
    Breakage,
    ExchangeFlows,
    Redemptions,
    Campaigns,
    DepositCoverage,
    SettlementStatus,
}

impl ReportKind {
    pub const ALL: [ReportKind; 7] = [
        Self::Liability,
        Self::Breakage,
        Self::ExchangeFlows,
        Self::Redemptions,
        Self::Campaigns,
        Self::DepositCoverage,
        Self::SettlementStatus,
    ];

    /// The report's name in URLs and file names.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Liability => "liability",
            Self::Breakage => "breakage",
            Self::ExchangeFlows => "exchange-flows",
            Self::Redemptions => "redemptions",
            Self::Campaigns => "campaigns",
            Self::DepositCoverage => "deposit-coverage",
            Self::SettlementStatus => "settlement-status",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.slug() == slug)
    }

    /// The catalog key of its title; `….description` is its one-line summary.
    pub fn title_key(self) -> String {
        format!("reports.kind.{}.title", self.slug())
    }

    pub fn description_key(self) -> String {
        format!("reports.kind.{}.description", self.slug())
    }

    /// The filters the report offers.
    pub fn filters(self) -> &'static [FilterField] {
        use FilterField::{District, Merchant, Period, Program, Store};
        match self {
            Self::Liability | Self::Breakage | Self::ExchangeFlows => &[Period, Merchant, Program],
            Self::Redemptions => &[Period, Merchant, District, Store],
            Self::Campaigns | Self::SettlementStatus => &[Period, Merchant],
            // A position now: no period.
            Self::DepositCoverage => &[Merchant],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Deposit(#[from] DepositError),
    #[error(transparent)]
    Overview(#[from] OverviewError),
    #[error("a valuation of program {0} is out of range")]
    Valuation(String),
}

/// A report is only read: nothing in it refuses anyone.
impl Classify for ReportError {
    fn class(&self) -> Class {
        match self {
            Self::Database(_) | Self::Deposit(_) | Self::Overview(_) | Self::Valuation(_) => {
                Class::System
            }
        }
    }
}

/// Builds the report's table for the filters, headers in `locale`. `progress`
/// hears `(done, total)` as merchants or programs are processed.
pub fn build(
    conn: &mut PgConnection,
    kind: ReportKind,
    filters: &Filters,
    locale: Locale,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Table, ReportError> {
    match kind {
        ReportKind::Liability => liability::build(conn, filters, locale, progress),
        ReportKind::Breakage => breakage::build(conn, filters, locale, progress),
        ReportKind::ExchangeFlows => exchange_flows::build(conn, filters, locale, progress),
        ReportKind::Redemptions => redemptions::build(conn, filters, locale, progress),
        ReportKind::Campaigns => campaigns::build(conn, filters, locale, progress),
        ReportKind::DepositCoverage => deposit_coverage::build(conn, filters, locale, progress),
        ReportKind::SettlementStatus => settlement_status::build(conn, filters, locale, progress),
    }
}

/// Every merchant, by code: for filter lists and to name rows.
pub fn merchants(conn: &mut PgConnection) -> QueryResult<Vec<Merchant>> {
    let mut all = merchant::standing::list(conn)?;
    all.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(all)
}

/// Every program code a report can be narrowed to: the merchants' programs
/// and the hub program ALP.
pub fn program_codes(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    let mut codes: Vec<String> = program::all(conn)?.into_iter().map(|p| p.code).collect();
    codes.sort();
    codes.push(ProgramCode::alp().as_str().to_owned());
    Ok(codes)
}

/// How a program's points are valued in CNY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Basis {
    /// A merchant's program: its settlement value.
    SettlementValue,
    /// The hub program ALP: the price merchants pay the house per ALP.
    IssuePrice,
}

impl Basis {
    fn label(self, locale: Locale) -> String {
        locale
            .t(match self {
                Self::SettlementValue => "reports.basis.settlement_value",
                Self::IssuePrice => "reports.basis.issue_price",
            })
            .into_owned()
    }
}

/// A program a liability or breakage report covers.
#[derive(Debug, Clone)]
struct ProgramInScope {
    code: String,
    name: String,
    /// Whose liability it is: the merchant's name, or the house's for ALP.
    owner: String,
    value: Rate,
    basis: Basis,
}

impl ProgramInScope {
    /// `points` of this program in CNY, rounded down as the books value them.
    fn value_of(&self, points: i64) -> Result<Money, ReportError> {
        self.value
            .value_of(points, Rounding::Down)
            .map_err(|_| ReportError::Valuation(self.code.clone()))
    }
}

/// The figures a per-program report reads for each program.
trait ProgramFigures: QueryableByName<diesel::pg::Pg> + 'static {
    /// The code of the program the row is about.
    fn program(&self) -> &str;
}

/// A report with a row per program in scope: its code, name and owner, then
/// what `cells` makes of the program and its figures from `sql` (`$1` the
/// period's start, `$2` its end; `None` where the program has none), then the
/// totals and the kind's note.
struct PerProgram<'a> {
    sql: &'a str,
    /// The columns after the leading three, as `Table::translated` takes them.
    columns: &'a [(&'a str, bool)],
    note: &'a str,
}

impl PerProgram<'_> {
    fn build<T: ProgramFigures>(
        &self,
        conn: &mut PgConnection,
        filters: &Filters,
        locale: Locale,
        progress: &mut dyn FnMut(u64, u64),
        cells: impl Fn(&ProgramInScope, Option<&T>) -> Result<Vec<Cell>, ReportError>,
    ) -> Result<Table, ReportError> {
        let scope = programs_in_scope(conn, filters, locale)?;
        let figures: HashMap<String, T> = diesel::sql_query(self.sql)
            .bind::<Timestamptz, _>(filters.starts_at())
            .bind::<Timestamptz, _>(filters.ends_at())
            .load::<T>(conn)?
            .into_iter()
            .map(|row| (row.program().to_owned(), row))
            .collect();
        let leading = [
            ("reports.col.program", false),
            ("reports.col.program_name", false),
            ("reports.col.owner", false),
        ];
        let mut table = Table::translated(locale, &[&leading[..], self.columns].concat());
        for (done, program) in scope.iter().enumerate() {
            let mut row = vec![
                Cell::Text(program.code.clone()),
                Cell::Text(program.name.clone()),
                Cell::Text(program.owner.clone()),
            ];
            row.extend(cells(program, figures.get(&program.code))?);
            table.rows.push(row);
            tick(progress, done + 1, scope.len());
        }
        table.add_totals(locale.t("reports.total").into_owned());
        table.note = Some(locale.t(self.note).into_owned());
        Ok(table)
    }
}

/// The programs the filters leave in: the merchant's program only when a
/// merchant is given (ALP belongs to the house, so it stays out then), the one
/// program when a program is given.
fn programs_in_scope(
    conn: &mut PgConnection,
    filters: &Filters,
    locale: Locale,
) -> Result<Vec<ProgramInScope>, ReportError> {
    let owners = merchants(conn)?;
    let values = overview::point_values(conn)?;
    let value_of = |code: &str| {
        values
            .get(code)
            .copied()
            .ok_or_else(|| ReportError::Valuation(code.to_owned()))
    };
    let wanted = |code: &str| filters.program.as_deref().is_none_or(|p| p == code);
    let mut scope = Vec::new();
    for p in program::all(conn)? {
        if !wanted(&p.code) || filters.merchant_id.is_some_and(|m| m != p.merchant_id) {
            continue;
        }
        scope.push(ProgramInScope {
            name: p.name(locale).to_owned(),
            owner: owners
                .iter()
                .find(|m| m.id == p.merchant_id)
                .map(|m| m.name(locale).to_owned())
                .unwrap_or_default(),
            value: value_of(&p.code)?,
            code: p.code,
            basis: Basis::SettlementValue,
        });
    }
    scope.sort_by(|a, b| a.code.cmp(&b.code));
    let alp = ProgramCode::alp();
    if filters.merchant_id.is_none() && wanted(alp.as_str()) {
        scope.push(ProgramInScope {
            code: alp.as_str().to_owned(),
            name: locale.t("reports.alp.name").into_owned(),
            owner: locale.t("reports.alp.owner").into_owned(),
            value: value_of(alp.as_str())?,
            basis: Basis::IssuePrice,
        });
    }
    Ok(scope)
}

/// Counts `total` items as done one by one.
fn tick(progress: &mut dyn FnMut(u64, u64), done: usize, total: usize) {
    progress(
        u64::try_from(done).unwrap_or(u64::MAX),
        u64::try_from(total).unwrap_or(u64::MAX),
    );
}
