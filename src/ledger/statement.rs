//! An account's posted history, newest first, with the running balance after each
//! line.
//!
//! Paging is by keyset (`before` a transfer id) so that deep pages cost the same as
//! the first. The running balance is the current balance minus everything posted
//! after the line, computed with one indexed sum rather than a scan from the start.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz},
};
use serde::Serialize;

use crate::domain::id::{AccountId, JournalEntryId, TransferId};

use super::account::balance;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    pub transfer_id: TransferId,
    pub entry_id: JournalEntryId,
    pub kind: String,
    pub metadata: serde_json::Value,
    pub at: DateTime<Utc>,
    pub counterparty: AccountId,
    /// Credits positive, debits negative, in minor units.
    pub amount: i64,
    /// Credits minus debits, posted, right after this line.
    pub balance_after: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub account: AccountId,
    pub lines: Vec<StatementLine>,
    /// Pass as `before` to get the next (older) page; `None` on the last page.
    pub next_before: Option<TransferId>,
}

#[derive(QueryableByName)]
struct LineRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    entry_id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Jsonb)]
    metadata: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    counterparty: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

#[derive(QueryableByName)]
struct SumRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    total: Option<i64>,
}

const POSTED_LEGS: &str = "
    SELECT t.id, t.journal_entry_id AS entry_id, j.kind, j.metadata, j.effective_at AS at,
           t.credit_account_id AS counterparty, -t.amount AS amount
    FROM transfers t JOIN journal_entries j ON j.id = t.journal_entry_id
    WHERE t.debit_account_id = $1 AND t.phase IN ('posted', 'post_pending')
    UNION ALL
    SELECT t.id, t.journal_entry_id, j.kind, j.metadata, j.effective_at,
           t.debit_account_id, t.amount
    FROM transfers t JOIN journal_entries j ON j.id = t.journal_entry_id
    WHERE t.credit_account_id = $1 AND t.phase IN ('posted', 'post_pending')";

/// One page of at most `limit` lines, older than `before` when given.
pub fn statement(
    conn: &mut PgConnection,
    account: AccountId,
    before: Option<TransferId>,
    limit: u16,
) -> QueryResult<Statement> {
    let before = before.map_or(i64::MAX, |id| id.0);
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(|conn| {
            let rows: Vec<LineRow> = diesel::sql_query(format!(
                "SELECT * FROM ({POSTED_LEGS}) legs WHERE id < $2 ORDER BY id DESC LIMIT $3"
            ))
            .bind::<BigInt, _>(account.0)
            .bind::<BigInt, _>(before)
            .bind::<BigInt, _>(i64::from(limit) + 1)
            .load(conn)?;
            let later: SumRow = diesel::sql_query(format!(
                "SELECT sum(amount)::int8 AS total FROM ({POSTED_LEGS}) legs WHERE id >= $2"
            ))
            .bind::<BigInt, _>(account.0)
            .bind::<BigInt, _>(before)
            .get_result(conn)?;

            let has_more = rows.len() > usize::from(limit);
            let mut balance_after = balance(conn, account)?.posted() - later.total.unwrap_or(0);
            let lines: Vec<StatementLine> = rows
                .into_iter()
                .take(usize::from(limit))
                .map(|r| {
                    let line = StatementLine {
                        transfer_id: TransferId(r.id),
                        entry_id: JournalEntryId(r.entry_id),
                        kind: r.kind,
                        metadata: r.metadata,
                        at: r.at,
                        counterparty: AccountId(r.counterparty),
                        amount: r.amount,
                        balance_after,
                    };
                    balance_after -= r.amount;
                    line
                })
                .collect();
            let next_before = if has_more {
                lines.last().map(|l| l.transfer_id)
            } else {
                None
            };
            Ok(Statement {
                account,
                lines,
                next_before,
            })
        })
}
