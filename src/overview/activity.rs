//! What happened in each period, straight from the ledger: points issued,
//! redeemed, exchanged away and expired per program, members who acted, and the
//! house's fee revenue, from the ledger's posted movements
//! (`ledger::views`). Every query selects movements by their entry's kind and
//! time, which the entries' `(kind, created_at)` index serves, so the cost
//! follows the activity in the window, not the size of the whole ledger.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Date, Text, Timestamptz},
};

use crate::domain::id::AccountId;

use super::grain::Grain;

/// A movement of points between members and the programs, as the platform
/// counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// A program to a member's wallet by an earn or a manual adjustment.
    Issued,
    /// A member's wallet back to a program when a voucher is redeemed (核销):
    /// the held points are posted then, so that is when they count.
    Redeemed,
    /// A member's wallet back to a program, given away in an exchange.
    Exchanged,
    /// A member's wallet to the program's breakage when a lot expires.
    Expired,
}

impl Flow {
    pub const ALL: [Flow; 4] = [Self::Issued, Self::Redeemed, Self::Exchanged, Self::Expired];

    fn parse(text: &str) -> Option<Self> {
        match text {
            "issued" => Some(Self::Issued),
            "redeemed" => Some(Self::Redeemed),
            "exchanged" => Some(Self::Exchanged),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// Points of one program that moved one way in one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowTotal {
    pub start: NaiveDate,
    pub asset: String,
    pub flow: Flow,
    pub points: i64,
}

#[derive(QueryableByName)]
struct FlowRow {
    #[diesel(sql_type = Date)]
    start: NaiveDate,
    #[diesel(sql_type = Text)]
    asset: String,
    #[diesel(sql_type = Text)]
    flow: String,
    #[diesel(sql_type = BigInt)]
    points: i64,
}

/// Points flows per period and program in `[from, until)`.
pub fn flows(
    conn: &mut PgConnection,
    grain: Grain,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<Vec<FlowTotal>> {
    let rows: Vec<FlowRow> = diesel::sql_query(
        "SELECT start, asset, flow, sum(amount)::int8 AS points FROM (
           SELECT date_trunc($1, m.effective_at AT TIME ZONE 'Asia/Shanghai')::date AS start,
                  m.asset, m.amount,
                  CASE
                    WHEN m.kind IN ('earn', 'adjust') AND d.purpose = 'issuance'
                         AND c.owner_kind = 'member' THEN 'issued'
                    WHEN m.kind = 'redeem' AND d.owner_kind = 'member' THEN 'redeemed'
                    WHEN m.kind = 'exchange' AND d.owner_kind = 'member' THEN 'exchanged'
                    WHEN m.kind = 'expire' AND d.owner_kind = 'member'
                         AND c.purpose = 'breakage' THEN 'expired'
                  END AS flow
           FROM ledger_movements m
           JOIN accounts d ON d.id = m.debit_account_id
           JOIN accounts c ON c.id = m.credit_account_id
           WHERE m.kind IN ('earn', 'adjust', 'redeem', 'exchange', 'expire')
             AND m.effective_at >= $2 AND m.effective_at < $3
         ) moved
         WHERE flow IS NOT NULL
         GROUP BY start, asset, flow
         ORDER BY start, asset, flow",
    )
    .bind::<Text, _>(grain.as_str())
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(until)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(FlowTotal {
                flow: Flow::parse(&row.flow)?,
                start: row.start,
                asset: row.asset,
                points: row.points,
            })
        })
        .collect())
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = Date)]
    start: NaiveDate,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn by_start(rows: Vec<CountRow>) -> HashMap<NaiveDate, i64> {
    rows.into_iter().map(|row| (row.start, row.n)).collect()
}

/// Members who earned, redeemed or exchanged in each period: a posted movement
/// of one of their wallets by an entry of those kinds. Expiry and the house's
/// corrections happen to members, so they do not make one active.
pub fn active_members(
    conn: &mut PgConnection,
    grain: Grain,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<HashMap<NaiveDate, i64>> {
    diesel::sql_query(
        "SELECT start, count(DISTINCT member_id)::int8 AS n FROM (
           SELECT date_trunc($1, m.effective_at AT TIME ZONE 'Asia/Shanghai')::date AS start,
                  CASE WHEN d.owner_kind = 'member' THEN d.owner_id ELSE c.owner_id END AS member_id
           FROM ledger_movements m
           JOIN accounts d ON d.id = m.debit_account_id
           JOIN accounts c ON c.id = m.credit_account_id
           WHERE m.kind IN ('earn', 'redeem', 'exchange')
             AND m.effective_at >= $2 AND m.effective_at < $3
             AND (d.owner_kind = 'member' OR c.owner_kind = 'member')
         ) acted
         GROUP BY start",
    )
    .bind::<Text, _>(grain.as_str())
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(until)
    .load(conn)
    .map(by_start)
}

/// The fee account's net credits per period, in fen: exchange spreads and the
/// platform's share of settlements.
pub fn fee_revenue(
    conn: &mut PgConnection,
    grain: Grain,
    fees: AccountId,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<HashMap<NaiveDate, i64>> {
    diesel::sql_query(
        "SELECT date_trunc($1, m.effective_at AT TIME ZONE 'Asia/Shanghai')::date AS start,
                sum(CASE WHEN m.credit_account_id = $2 THEN m.amount ELSE -m.amount END)::int8 AS n
         FROM ledger_movements m
         WHERE (m.credit_account_id = $2 OR m.debit_account_id = $2)
           AND m.effective_at >= $3 AND m.effective_at < $4
         GROUP BY 1",
    )
    .bind::<Text, _>(grain.as_str())
    .bind::<BigInt, _>(fees.0)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(until)
    .load(conn)
    .map(by_start)
}

/// Members who signed up in each period.
pub fn new_members(
    conn: &mut PgConnection,
    grain: Grain,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<HashMap<NaiveDate, i64>> {
    diesel::sql_query(
        "SELECT date_trunc($1, created_at AT TIME ZONE 'Asia/Shanghai')::date AS start,
                count(*)::int8 AS n
         FROM members
         WHERE created_at >= $2 AND created_at < $3
         GROUP BY 1",
    )
    .bind::<Text, _>(grain.as_str())
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(until)
    .load(conn)
    .map(by_start)
}

/// Members who had signed up before `at`.
pub fn members_before(conn: &mut PgConnection, at: DateTime<Utc>) -> QueryResult<i64> {
    use crate::db::schema::members;
    members::table
        .filter(members::created_at.lt(at))
        .count()
        .get_result(conn)
}
