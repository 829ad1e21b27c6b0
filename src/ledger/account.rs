//! Assets, accounts and their balances.

use std::collections::HashMap;

use diesel::{
    prelude::*,
    sql_types::{Array, BigInt},
};
use serde::Serialize;

use crate::{
    db::schema::{account_balances, accounts, assets},
    domain::id::AccountId,
};

use super::LedgerError;

/// What to open. Opening is idempotent by `code`: the same attributes return the
/// existing account, different ones are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSpec {
    pub code: String,
    pub asset: String,
    pub owner_kind: String,
    pub owner_id: Option<i64>,
    pub purpose: String,
    pub no_overdraft: bool,
    /// Balance rows to spread updates over; more than one only for house accounts
    /// that every transaction touches.
    pub shards: i16,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    pub id: AccountId,
    pub code: String,
    pub asset: String,
    pub owner_kind: String,
    pub owner_id: Option<i64>,
    pub purpose: String,
    pub no_overdraft: bool,
    pub shards: i16,
}

#[derive(Insertable)]
#[diesel(table_name = accounts)]
struct NewAccount<'a> {
    code: &'a str,
    asset: &'a str,
    owner_kind: &'a str,
    owner_id: Option<i64>,
    purpose: &'a str,
    no_overdraft: bool,
    shards: i16,
}

#[derive(Insertable)]
#[diesel(table_name = account_balances)]
struct NewBalanceRow<'a> {
    account_id: AccountId,
    shard: i16,
    asset: &'a str,
    no_overdraft: bool,
}

/// An account's balance summed over its shards, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub debits_pending: i64,
    pub credits_pending: i64,
}

impl Balance {
    /// Credits minus debits, posted only: what a credit-normal account holds.
    pub fn posted(&self) -> i64 {
        self.credits_posted - self.debits_posted
    }

    /// What a credit-normal account may still spend: held debits count against it.
    pub fn available(&self) -> i64 {
        self.credits_posted - self.debits_posted - self.debits_pending
    }
}

/// Registers an asset (idempotent).
pub fn ensure_asset(
    conn: &mut PgConnection,
    code: &str,
    scale: i16,
    name: &str,
) -> QueryResult<()> {
    diesel::insert_into(assets::table)
        .values((
            assets::code.eq(code),
            assets::scale.eq(scale),
            assets::name.eq(name),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(drop)
}

/// Every asset's code and display name.
pub fn asset_names(conn: &mut PgConnection) -> QueryResult<HashMap<String, String>> {
    Ok(assets::table
        .select((assets::code, assets::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// Opens an account and its balance rows, or returns the existing one with the
/// same code if its attributes match.
/// Opens the account `spec` describes, or finds it if it is open already.
#[tracing::instrument(skip_all, fields(code = %spec.code))]
pub fn open_account(conn: &mut PgConnection, spec: &AccountSpec) -> Result<Account, LedgerError> {
    let mut opened = open_accounts(conn, std::slice::from_ref(spec))?;
    Ok(opened.pop().expect("one account per spec"))
}

/// Rows per INSERT: PostgreSQL binds at most 65,535 parameters per statement.
const ROWS_PER_INSERT: usize = 5_000;

/// Opens every account of `specs` that is not open yet — a few statements for
/// the whole batch, as an import opens thousands of wallets — and returns all
/// of them in the order given. An account already open under a code must be
/// the one its spec describes.
#[tracing::instrument(skip_all, fields(accounts = specs.len()))]
pub fn open_accounts(
    conn: &mut PgConnection,
    specs: &[AccountSpec],
) -> Result<Vec<Account>, LedgerError> {
    conn.transaction(|conn| {
        for chunk in specs.chunks(ROWS_PER_INSERT) {
            let new: Vec<NewAccount> = chunk
                .iter()
                .map(|spec| NewAccount {
                    code: &spec.code,
                    asset: &spec.asset,
                    owner_kind: &spec.owner_kind,
                    owner_id: spec.owner_id,
                    purpose: &spec.purpose,
                    no_overdraft: spec.no_overdraft,
                    shards: spec.shards,
                })
                .collect();
            let inserted: Vec<Account> = diesel::insert_into(accounts::table)
                .values(&new)
                .on_conflict(accounts::code)
                .do_nothing()
                .returning(Account::as_returning())
                .get_results(conn)?;
            let rows: Vec<NewBalanceRow> = inserted
                .iter()
                .flat_map(|account| {
                    (0..account.shards).map(|shard| NewBalanceRow {
                        account_id: account.id,
                        shard,
                        asset: &account.asset,
                        no_overdraft: account.no_overdraft,
                    })
                })
                .collect();
            for rows in rows.chunks(ROWS_PER_INSERT) {
                diesel::insert_into(account_balances::table)
                    .values(rows)
                    .execute(conn)?;
            }
        }
        let codes: Vec<&str> = specs.iter().map(|spec| spec.code.as_str()).collect();
        let mut open: HashMap<String, Account> = HashMap::with_capacity(codes.len());
        for codes in codes.chunks(ROWS_PER_INSERT) {
            for account in accounts::table
                .filter(accounts::code.eq_any(codes))
                .select(Account::as_select())
                .load::<Account>(conn)?
            {
                open.insert(account.code.clone(), account);
            }
        }
        specs
            .iter()
            .map(|spec| match open.get(&spec.code) {
                Some(account) if account.spec() == *spec => Ok(account.clone()),
                _ => Err(LedgerError::AccountCodeTaken(spec.code.clone())),
            })
            .collect()
    })
}

pub fn find_account(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Account>> {
    accounts::table
        .filter(accounts::code.eq(code))
        .select(Account::as_select())
        .first(conn)
        .optional()
}

/// Every account of one owner (e.g. a member's wallets), by code.
pub fn accounts_of(
    conn: &mut PgConnection,
    owner_kind: &str,
    owner_id: i64,
) -> QueryResult<Vec<Account>> {
    accounts::table
        .filter(accounts::owner_kind.eq(owner_kind))
        .filter(accounts::owner_id.eq(owner_id))
        .order(accounts::code)
        .select(Account::as_select())
        .load(conn)
}

/// Every account of one kind and purpose (e.g. every program's issuance), by code.
pub fn accounts_for(
    conn: &mut PgConnection,
    owner_kind: &str,
    purpose: &str,
) -> QueryResult<Vec<Account>> {
    accounts::table
        .filter(accounts::owner_kind.eq(owner_kind))
        .filter(accounts::purpose.eq(purpose))
        .order(accounts::code)
        .select(Account::as_select())
        .load(conn)
}

pub fn account(conn: &mut PgConnection, id: AccountId) -> QueryResult<Option<Account>> {
    accounts::table
        .find(id)
        .select(Account::as_select())
        .first(conn)
        .optional()
}

/// Balances of the given accounts; an account without transfers has a zero balance.
pub fn balances(
    conn: &mut PgConnection,
    ids: &[AccountId],
) -> QueryResult<HashMap<AccountId, Balance>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<BalanceRow> = diesel::sql_query(
        "SELECT account_id, sum(debits_posted)::int8 AS debits_posted, \
                sum(credits_posted)::int8 AS credits_posted, \
                sum(debits_pending)::int8 AS debits_pending, \
                sum(credits_pending)::int8 AS credits_pending \
         FROM account_balances WHERE account_id = ANY($1) GROUP BY account_id",
    )
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let balance = Balance {
                debits_posted: r.debits_posted,
                credits_posted: r.credits_posted,
                debits_pending: r.debits_pending,
                credits_pending: r.credits_pending,
            };
            (AccountId(r.account_id), balance)
        })
        .collect())
}

pub fn balance(conn: &mut PgConnection, id: AccountId) -> QueryResult<Balance> {
    Ok(balances(conn, &[id])?.remove(&id).unwrap_or_default())
}

/// One account's shards summed (sums of BIGINT are cast back from NUMERIC).
#[derive(QueryableByName)]
struct BalanceRow {
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = BigInt)]
    debits_posted: i64,
    #[diesel(sql_type = BigInt)]
    credits_posted: i64,
    #[diesel(sql_type = BigInt)]
    debits_pending: i64,
    #[diesel(sql_type = BigInt)]
    credits_pending: i64,
}

impl Account {
    fn spec(&self) -> AccountSpec {
        AccountSpec {
            code: self.code.clone(),
            asset: self.asset.clone(),
            owner_kind: self.owner_kind.clone(),
            owner_id: self.owner_id,
            purpose: self.purpose.clone(),
            no_overdraft: self.no_overdraft,
            shards: self.shards,
        }
    }
}
