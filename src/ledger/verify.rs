//! Proves the books from the transfers alone: every balance row equals the sum of
//! its transfers, debits equal credits per asset, no no-overdraft account is below
//! zero, and every post or void matches the hold it resolves.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Nullable, SmallInt, Text},
};
use serde::{Deserialize, Serialize};

use crate::db::schema::ledger_verifications;

/// Each (account, shard) as the transfers say it should be: posted legs count in
/// full, holds count as pending until something resolves them.
const EXPECTED_ROWS: &str = "
    WITH resolved AS (
        SELECT pending_id FROM transfers WHERE pending_id IS NOT NULL
    ), legs AS (
        SELECT t.debit_account_id AS account_id, t.debit_shard AS shard,
               CASE WHEN t.phase IN ('posted', 'post_pending') THEN t.amount ELSE 0 END AS debits_posted,
               0::int8 AS credits_posted,
               CASE WHEN t.phase = 'pending' AND r.pending_id IS NULL THEN t.amount ELSE 0 END AS debits_pending,
               0::int8 AS credits_pending
        FROM transfers t LEFT JOIN resolved r ON r.pending_id = t.id
        UNION ALL
        SELECT t.credit_account_id, t.credit_shard,
               0,
               CASE WHEN t.phase IN ('posted', 'post_pending') THEN t.amount ELSE 0 END,
               0,
               CASE WHEN t.phase = 'pending' AND r.pending_id IS NULL THEN t.amount ELSE 0 END
        FROM transfers t LEFT JOIN resolved r ON r.pending_id = t.id
    )
    SELECT account_id, shard,
           sum(debits_posted)::int8 AS debits_posted, sum(credits_posted)::int8 AS credits_posted,
           sum(debits_pending)::int8 AS debits_pending, sum(credits_pending)::int8 AS credits_pending
    FROM legs GROUP BY account_id, shard";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// A balance row differs from its transfers (counters: debits and credits,
    /// posted then pending).
    BalanceMismatch {
        account_id: i64,
        code: Option<String>,
        shard: i16,
        stored: [i64; 4],
        from_transfers: [i64; 4],
    },
    /// Debits and credits differ for an asset.
    AssetUnbalanced {
        asset: String,
        debits_posted: i64,
        credits_posted: i64,
        debits_pending: i64,
        credits_pending: i64,
    },
    /// A no-overdraft account below zero, from its transfers.
    Overdrawn {
        account_id: i64,
        code: String,
        available: i64,
    },
    /// A post or void that does not match its hold.
    BadResolution {
        transfer_id: i64,
        pending_id: i64,
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// When the books were last proven, and what was found.
#[derive(Debug, Clone, Serialize)]
pub struct LastVerification {
    pub finished_at: DateTime<Utc>,
    pub clean: bool,
    pub findings: Vec<Finding>,
}

pub fn last_verification(conn: &mut PgConnection) -> QueryResult<Option<LastVerification>> {
    let last: Option<(DateTime<Utc>, bool, serde_json::Value)> = ledger_verifications::table
        .order(ledger_verifications::id.desc())
        .select((
            ledger_verifications::finished_at,
            ledger_verifications::clean,
            ledger_verifications::findings,
        ))
        .first(conn)
        .optional()?;
    Ok(last.map(|(finished_at, clean, findings)| LastVerification {
        finished_at,
        clean,
        // Written by `verify` from the same type; a row that no longer reads
        // (an older shape) still says whether it was clean.
        findings: serde_json::from_value(findings).unwrap_or_default(),
    }))
}

#[derive(QueryableByName)]
struct MismatchRow {
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    code: Option<String>,
    #[diesel(sql_type = SmallInt)]
    shard: i16,
    #[diesel(sql_type = BigInt)]
    b_dp: i64,
    #[diesel(sql_type = BigInt)]
    b_cp: i64,
    #[diesel(sql_type = BigInt)]
    b_dpe: i64,
    #[diesel(sql_type = BigInt)]
    b_cpe: i64,
    #[diesel(sql_type = BigInt)]
    t_dp: i64,
    #[diesel(sql_type = BigInt)]
    t_cp: i64,
    #[diesel(sql_type = BigInt)]
    t_dpe: i64,
    #[diesel(sql_type = BigInt)]
    t_cpe: i64,
}

#[derive(QueryableByName)]
struct AssetRow {
    #[diesel(sql_type = Text)]
    asset: String,
    #[diesel(sql_type = BigInt)]
    dp: i64,
    #[diesel(sql_type = BigInt)]
    cp: i64,
    #[diesel(sql_type = BigInt)]
    dpe: i64,
    #[diesel(sql_type = BigInt)]
    cpe: i64,
}

#[derive(QueryableByName)]
struct OverdrawnRow {
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = BigInt)]
    available: i64,
}

#[derive(QueryableByName)]
struct BadResolutionRow {
    #[diesel(sql_type = BigInt)]
    transfer_id: i64,
    #[diesel(sql_type = BigInt)]
    pending_id: i64,
    #[diesel(sql_type = Text)]
    reason: String,
}

/// Runs every check in one consistent snapshot and records the run.
#[tracing::instrument(skip_all)]
pub fn verify(conn: &mut PgConnection) -> QueryResult<Report> {
    let started_at = crate::clock::now();
    let findings = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(|conn| {
            // One snapshot over every transfer: it takes as long as the books
            // are big, which the request-sized statement timeout does not know.
            crate::db::lift_statement_timeout(conn)?;
            find_all(conn)
        })?;
    let report = Report {
        started_at,
        finished_at: crate::clock::now(),
        findings,
    };
    if report.is_clean() {
        tracing::info!("ledger verified clean");
    } else {
        tracing::error!(
            findings = report.findings.len(),
            "ledger verification found problems"
        );
    }
    diesel::insert_into(ledger_verifications::table)
        .values((
            ledger_verifications::started_at.eq(report.started_at),
            ledger_verifications::finished_at.eq(report.finished_at),
            ledger_verifications::clean.eq(report.is_clean()),
            ledger_verifications::findings
                .eq(serde_json::to_value(&report.findings).expect("findings serialize")),
        ))
        .execute(conn)?;
    Ok(report)
}

fn find_all(conn: &mut PgConnection) -> QueryResult<Vec<Finding>> {
    let mut findings = Vec::new();

    let mismatches: Vec<MismatchRow> = diesel::sql_query(format!(
        "WITH expected AS ({EXPECTED_ROWS})
         SELECT coalesce(b.account_id, e.account_id) AS account_id, a.code,
                coalesce(b.shard, e.shard) AS shard,
                coalesce(b.debits_posted, 0) AS b_dp, coalesce(b.credits_posted, 0) AS b_cp,
                coalesce(b.debits_pending, 0) AS b_dpe, coalesce(b.credits_pending, 0) AS b_cpe,
                coalesce(e.debits_posted, 0) AS t_dp, coalesce(e.credits_posted, 0) AS t_cp,
                coalesce(e.debits_pending, 0) AS t_dpe, coalesce(e.credits_pending, 0) AS t_cpe
         FROM account_balances b
         FULL JOIN expected e ON e.account_id = b.account_id AND e.shard = b.shard
         LEFT JOIN accounts a ON a.id = coalesce(b.account_id, e.account_id)
         WHERE b.account_id IS NULL
            OR (coalesce(e.debits_posted, 0), coalesce(e.credits_posted, 0),
                coalesce(e.debits_pending, 0), coalesce(e.credits_pending, 0))
               IS DISTINCT FROM
               (b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending)
         ORDER BY 1, 3"
    ))
    .load(conn)?;
    findings.extend(mismatches.into_iter().map(|r| Finding::BalanceMismatch {
        account_id: r.account_id,
        code: r.code,
        shard: r.shard,
        stored: [r.b_dp, r.b_cp, r.b_dpe, r.b_cpe],
        from_transfers: [r.t_dp, r.t_cp, r.t_dpe, r.t_cpe],
    }));

    let unbalanced: Vec<AssetRow> = diesel::sql_query(format!(
        "WITH expected AS ({EXPECTED_ROWS})
         SELECT a.asset, sum(e.debits_posted)::int8 AS dp, sum(e.credits_posted)::int8 AS cp,
                sum(e.debits_pending)::int8 AS dpe, sum(e.credits_pending)::int8 AS cpe
         FROM expected e JOIN accounts a ON a.id = e.account_id
         GROUP BY a.asset
         HAVING sum(e.debits_posted) <> sum(e.credits_posted)
             OR sum(e.debits_pending) <> sum(e.credits_pending)
         ORDER BY 1"
    ))
    .load(conn)?;
    findings.extend(unbalanced.into_iter().map(|r| Finding::AssetUnbalanced {
        asset: r.asset,
        debits_posted: r.dp,
        credits_posted: r.cp,
        debits_pending: r.dpe,
        credits_pending: r.cpe,
    }));

    let overdrawn: Vec<OverdrawnRow> = diesel::sql_query(format!(
        "WITH expected AS ({EXPECTED_ROWS})
         SELECT a.id AS account_id, a.code,
                sum(e.credits_posted - e.debits_posted - e.debits_pending)::int8 AS available
         FROM expected e JOIN accounts a ON a.id = e.account_id
         WHERE a.no_overdraft
         GROUP BY a.id, a.code
         HAVING sum(e.credits_posted - e.debits_posted - e.debits_pending) < 0
         ORDER BY 1"
    ))
    .load(conn)?;
    findings.extend(overdrawn.into_iter().map(|r| Finding::Overdrawn {
        account_id: r.account_id,
        code: r.code,
        available: r.available,
    }));

    let bad_resolutions: Vec<BadResolutionRow> = diesel::sql_query(
        "SELECT r.id AS transfer_id, r.pending_id,
                CASE WHEN p.phase <> 'pending' THEN 'resolves a transfer that is not a hold'
                     WHEN (r.asset, r.debit_account_id, r.debit_shard, r.credit_account_id, r.credit_shard)
                          IS DISTINCT FROM
                          (p.asset, p.debit_account_id, p.debit_shard, p.credit_account_id, p.credit_shard)
                          THEN 'accounts differ from the hold'
                     WHEN r.phase = 'void_pending' AND r.amount <> p.amount THEN 'voids a different amount'
                     ELSE 'posts more than the hold' END AS reason
         FROM transfers r JOIN transfers p ON p.id = r.pending_id
         WHERE p.phase <> 'pending'
            OR (r.asset, r.debit_account_id, r.debit_shard, r.credit_account_id, r.credit_shard)
               IS DISTINCT FROM (p.asset, p.debit_account_id, p.debit_shard, p.credit_account_id, p.credit_shard)
            OR (r.phase = 'void_pending' AND r.amount <> p.amount)
            OR r.amount > p.amount
         ORDER BY 1",
    )
    .load(conn)?;
    findings.extend(bad_resolutions.into_iter().map(|r| Finding::BadResolution {
        transfer_id: r.transfer_id,
        pending_id: r.pending_id,
        reason: r.reason,
    }));

    Ok(findings)
}
