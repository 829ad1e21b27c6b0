//! The alliance at a glance, for the operators' home: trends of members and of
//! points and fee revenue per period (`activity`, counted in `grain`s), and
//! where things stand now — the liability per program, each merchant's deposit
//! coverage, money still to settle, alerts and approvals waiting.
//!
//! Points of different programs are not added up as points: a flow is valued
//! in CNY at its program's settlement value (ALP at its issue price), rounded
//! down per program and period, the same way the books value the liability.
//! Values use today's prices, so a trend shows volume, not past prices.

pub mod activity;
pub mod grain;

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::PgConnection;

use crate::{
    approval::{self, Scope},
    chart::HouseAccount,
    deposit::{self, DepositError, Position},
    domain::{
        money::{Money, MoneyError, Rounding},
        rate::{Rate, RateError},
        shanghai,
    },
    earn::hub,
    error::{Class, Classify},
    ledger,
    merchant::{self, Merchant},
    program,
    settlement::{collection, payout},
};

use self::{
    activity::{Flow, FlowTotal},
    grain::Grain,
};

#[derive(Debug, thiserror::Error)]
pub enum OverviewError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("a program's points cannot be valued: {0}")]
    Value(#[from] RateError),
    #[error("a total overflows: {0}")]
    Total(#[from] MoneyError),
    #[error("a deposit position cannot be read: {0}")]
    Deposit(#[from] DepositError),
}

/// The overview is only read: nothing in it refuses anyone.
impl Classify for OverviewError {
    fn class(&self) -> Class {
        match self {
            Self::Database(_) | Self::Value(_) | Self::Total(_) | Self::Deposit(_) => Class::System,
        }
    }
}

/// One figure per period, oldest first; the last period is still running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trend {
    pub values: Vec<i64>,
}

impl Trend {
    fn from_map(starts: &[NaiveDate], by_start: &HashMap<NaiveDate, i64>) -> Self {
        Self {
            values: starts
                .iter()
                .map(|start| by_start.get(start).copied().unwrap_or(0))
                .collect(),
        }
    }

    /// The running period's figure.
    pub fn current(&self) -> i64 {
        self.values.last().copied().unwrap_or(0)
    }

    /// The last whole period's figure.
    pub fn previous(&self) -> i64 {
        self.values.iter().rev().nth(1).copied().unwrap_or(0)
    }

    /// The running period against the last whole one, in tenths of a percent;
    /// None when there is nothing to compare with.
    pub fn change_permille(&self) -> Option<i64> {
        let previous = self.previous();
        (previous != 0).then(|| (self.current() - previous) * 1000 / previous.abs())
    }
}

/// Points of one program in members' hands and what they are worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramLiability {
    pub asset: String,
    pub name: String,
    pub points: i64,
    pub value: Money,
}

#[derive(Debug, Clone)]
pub struct MerchantCoverage {
    pub merchant: Merchant,
    pub position: Position,
}

#[derive(Debug, Clone)]
pub struct Overview {
    pub grain: Grain,
    /// The first day of each period, oldest first.
    pub starts: Vec<NaiveDate>,
    /// Members signed up by the end of each period.
    pub members: Trend,
    pub new_members: Trend,
    pub active_members: Trend,
    /// CNY value in fen of the points that moved, per flow.
    pub issued: Trend,
    pub redeemed: Trend,
    pub exchanged: Trend,
    pub expired: Trend,
    /// Net fee revenue in fen.
    pub fees: Trend,
    /// Largest first.
    pub liability: Vec<ProgramLiability>,
    pub liability_total: Money,
    /// Every active merchant, least covered first.
    pub coverage: Vec<MerchantCoverage>,
    pub payouts: payout::InFlight,
    pub collections: collection::Outstanding,
    pub alerts_warning: i64,
    pub alerts_critical: i64,
    pub approvals: i64,
}

impl Overview {
    pub fn compute(
        conn: &mut PgConnection,
        grain: Grain,
        today: NaiveDate,
    ) -> Result<Self, OverviewError> {
        let starts = grain.starts(today);
        let from = shanghai::midnight(starts[0]);
        let until = shanghai::midnight(grain.next(*starts.last().expect("at least one period")));
        let values = point_values(conn)?;

        let flows = activity::flows(conn, grain, from, until)?;
        let in_cny = |flow| valued_trend(&starts, &flows, flow, &values);
        // Reading opens no accounts: before the first fee there is none to read.
        let fees = match ledger::find_account(conn, &HouseAccount::Fees.code())? {
            Some(account) => activity::fee_revenue(conn, grain, account.id, from, until)?,
            None => HashMap::new(),
        };
        let new_members = activity::new_members(conn, grain, from, until)?;
        let members =
            members_by_period(&starts, &new_members, activity::members_before(conn, from)?);
        let (liability, liability_total) = liability(conn, &values)?;
        let (alerts_warning, alerts_critical) = crate::risk::unresolved_counts(conn)?;
        Ok(Self {
            grain,
            members,
            new_members: Trend::from_map(&starts, &new_members),
            active_members: Trend::from_map(
                &starts,
                &activity::active_members(conn, grain, from, until)?,
            ),
            issued: in_cny(Flow::Issued)?,
            redeemed: in_cny(Flow::Redeemed)?,
            exchanged: in_cny(Flow::Exchanged)?,
            expired: in_cny(Flow::Expired)?,
            fees: Trend::from_map(&starts, &fees),
            liability,
            liability_total,
            coverage: coverage(conn)?,
            payouts: payout::in_flight(conn)?,
            collections: collection::outstanding(conn)?,
            alerts_warning,
            alerts_critical,
            approvals: approval::count_pending(conn, Scope::Platform)?,
            starts,
        })
    }
}

/// CNY per point of every program: the settlement value, and for the hub
/// points the price merchants pay for them.
pub fn point_values(conn: &mut PgConnection) -> Result<HashMap<String, Rate>, OverviewError> {
    let mut values = HashMap::new();
    for program in program::all(conn)? {
        values.insert(program.code, Rate::new(program.settlement_value)?);
    }
    values.insert(
        crate::domain::points::ProgramCode::alp()
            .as_str()
            .to_owned(),
        hub::policy(conn)?.issue_price,
    );
    Ok(values)
}

fn valued_trend(
    starts: &[NaiveDate],
    flows: &[FlowTotal],
    flow: Flow,
    values: &HashMap<String, Rate>,
) -> Result<Trend, OverviewError> {
    let mut by_start: HashMap<NaiveDate, i64> = HashMap::new();
    for total in flows.iter().filter(|t| t.flow == flow) {
        let Some(rate) = values.get(&total.asset) else {
            continue;
        };
        *by_start.entry(total.start).or_default() +=
            rate.value_of(total.points, Rounding::Down)?.fen();
    }
    Ok(Trend::from_map(starts, &by_start))
}

fn members_by_period(
    starts: &[NaiveDate],
    new_members: &HashMap<NaiveDate, i64>,
    before: i64,
) -> Trend {
    let mut running = before;
    Trend {
        values: starts
            .iter()
            .map(|start| {
                running += new_members.get(start).copied().unwrap_or(0);
                running
            })
            .collect(),
    }
}

/// Every program's points outstanding: minus the posted balance of its
/// issuance account, valued (rounded down) at its point value.
fn liability(
    conn: &mut PgConnection,
    values: &HashMap<String, Rate>,
) -> Result<(Vec<ProgramLiability>, Money), OverviewError> {
    let accounts = ledger::accounts_for(conn, "program", "issuance")?;
    let ids: Vec<_> = accounts.iter().map(|a| a.id).collect();
    let balances = ledger::balances(conn, &ids)?;
    let names = ledger::asset_names(conn)?;
    let mut rows = Vec::with_capacity(accounts.len());
    let mut total = Money::ZERO;
    for account in accounts {
        let points = -balances
            .get(&account.id)
            .copied()
            .unwrap_or_default()
            .posted();
        let value = match values.get(&account.asset) {
            Some(rate) => rate.value_of(points, Rounding::Down)?,
            None => Money::ZERO,
        };
        total = total.checked_add(value)?;
        rows.push(ProgramLiability {
            name: names
                .get(&account.asset)
                .cloned()
                .unwrap_or_else(|| account.asset.clone()),
            asset: account.asset,
            points,
            value,
        });
    }
    rows.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.asset.cmp(&b.asset)));
    Ok((rows, total))
}

fn coverage(conn: &mut PgConnection) -> Result<Vec<MerchantCoverage>, OverviewError> {
    let mut rows = merchant::list_active(conn)?
        .into_iter()
        .map(|merchant| {
            let position = deposit::position(conn, &merchant)?;
            Ok(MerchantCoverage { merchant, position })
        })
        .collect::<Result<Vec<_>, OverviewError>>()?;
    rows.sort_by(|a, b| {
        a.position
            .coverage()
            .cmp(&b.position.coverage())
            .then_with(|| a.merchant.code.cmp(&b.merchant.code))
    });
    Ok(rows)
}
