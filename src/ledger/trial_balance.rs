//! The trial balance: every asset's posted debits and credits, grouped by who owns
//! the accounts and what they are for, from the balance rows in one query. Per
//! asset the credits minus debits of all rows must be zero.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Jsonb, Nullable, SmallInt, Text, Timestamptz},
};
use serde::Serialize;

use crate::domain::id::{AccountId, JournalEntryId};

/// One group of accounts of one asset: a house account on its own (`code` set),
/// or all accounts of an (owner kind, purpose), e.g. every member wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, QueryableByName)]
pub struct TrialRow {
    #[diesel(sql_type = Text)]
    pub asset: String,
    #[diesel(sql_type = SmallInt)]
    pub scale: i16,
    #[diesel(sql_type = Text)]
    pub owner_kind: String,
    #[diesel(sql_type = Text)]
    pub purpose: String,
    /// The account's code when the row is one house account.
    #[diesel(sql_type = Nullable<Text>)]
    pub code: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub accounts: i64,
    #[diesel(sql_type = BigInt)]
    pub debits_posted: i64,
    #[diesel(sql_type = BigInt)]
    pub credits_posted: i64,
}

impl TrialRow {
    /// Credits minus debits, posted.
    pub fn balance(&self) -> i64 {
        self.credits_posted - self.debits_posted
    }
}

/// Rows ordered CNY first, then the programs by code with ALP last; within an
/// asset by owner kind and purpose (house accounts by code).
pub fn trial_balance(conn: &mut PgConnection) -> QueryResult<Vec<TrialRow>> {
    diesel::sql_query(
        "SELECT a.asset, s.scale, a.owner_kind, a.purpose,
                CASE WHEN a.owner_kind = 'house' THEN a.code END AS code,
                count(DISTINCT a.id)::int8 AS accounts,
                coalesce(sum(b.debits_posted), 0)::int8 AS debits_posted,
                coalesce(sum(b.credits_posted), 0)::int8 AS credits_posted
         FROM accounts a
         JOIN assets s ON s.code = a.asset
         LEFT JOIN account_balances b ON b.account_id = a.id
         GROUP BY a.asset, s.scale, a.owner_kind, a.purpose,
                  CASE WHEN a.owner_kind = 'house' THEN a.code END
         ORDER BY CASE a.asset WHEN 'CNY' THEN 0 WHEN 'ALP' THEN 2 ELSE 1 END, a.asset,
                  CASE a.owner_kind WHEN 'house' THEN 0 WHEN 'merchant' THEN 1
                                    WHEN 'program' THEN 2 WHEN 'member' THEN 3 ELSE 4 END,
                  a.owner_kind, a.purpose, 5",
    )
    .load(conn)
}

/// A journal entry as it was committed.
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct EntryView {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub idempotency_key: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Jsonb)]
    pub metadata: serde_json::Value,
    /// When it happened in the world.
    #[diesel(sql_type = Timestamptz)]
    pub effective_at: DateTime<Utc>,
    /// When it was booked: later than `effective_at` for imported history.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// One transfer of an entry, with its accounts' codes.
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct TransferView {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub debit_code: String,
    #[diesel(sql_type = Text)]
    pub credit_code: String,
    #[diesel(sql_type = Text)]
    pub asset: String,
    #[diesel(sql_type = SmallInt)]
    pub scale: i16,
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
    #[diesel(sql_type = Text)]
    pub phase: String,
}

/// The entry and its transfers in id order; `None` if there is no such entry.
pub fn entry_with_transfers(
    conn: &mut PgConnection,
    id: JournalEntryId,
) -> QueryResult<Option<(EntryView, Vec<TransferView>)>> {
    let entry: Option<EntryView> = diesel::sql_query(
        "SELECT id, idempotency_key, kind, metadata, effective_at, created_at
         FROM journal_entries WHERE id = $1",
    )
    .bind::<BigInt, _>(id.0)
    .get_result(conn)
    .optional()?;
    let Some(entry) = entry else {
        return Ok(None);
    };
    let transfers: Vec<TransferView> = diesel::sql_query(
        "SELECT t.id, d.code AS debit_code, c.code AS credit_code, t.asset, s.scale,
                t.amount, t.phase
         FROM transfers t
         JOIN accounts d ON d.id = t.debit_account_id
         JOIN accounts c ON c.id = t.credit_account_id
         JOIN assets s ON s.code = t.asset
         WHERE t.journal_entry_id = $1 ORDER BY t.id",
    )
    .bind::<BigInt, _>(id.0)
    .load(conn)?;
    Ok(Some((entry, transfers)))
}

#[derive(QueryableByName)]
struct CodeRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    code: String,
}

/// The codes of the given accounts.
pub fn account_codes(
    conn: &mut PgConnection,
    ids: &[AccountId],
) -> QueryResult<HashMap<AccountId, String>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<CodeRow> = diesel::sql_query("SELECT id, code FROM accounts WHERE id = ANY($1)")
        .bind::<Array<BigInt>, _>(ids)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (AccountId(r.id), r.code))
        .collect())
}

/// The scale (decimal places) of an asset.
pub fn asset_scale(conn: &mut PgConnection, asset: &str) -> QueryResult<i16> {
    use crate::db::schema::assets;
    assets::table.find(asset).select(assets::scale).first(conn)
}
