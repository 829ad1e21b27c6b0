//! The write path: a batch of journal entries in one database transaction, one
//! result per entry.
//!
//! Order of work inside the transaction, chosen so that concurrent batches can
//! never deadlock:
//! 1. read what the batch refers to (accounts, holds) — immutable rows, no locks;
//! 2. lock every balance row the batch touches in one statement, sorted by
//!    `(account_id, shard)`;
//! 3. decide each entry in order against the locked balances — a refused entry
//!    (overdraft, conflict, ...) changes nothing and the others go on;
//! 4. insert the accepted entries sorted by idempotency key, their transfers, and
//!    the summed balance deltas.
//!
//! Every lock is taken in one global order (balance rows, then keys), so no cycle
//! can form. A concurrent batch that committed the same key first is seen in step
//! 4 (`ON CONFLICT DO NOTHING` returns fewer rows) and the whole batch is retried,
//! which then finds that key in step 3.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel::{
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_types::{Array, BigInt, Bool, SmallInt},
};
use ring::digest;

use crate::{
    db::schema::{accounts, journal_entries, transfers},
    domain::id::{AccountId, JournalEntryId, TransferId},
};

use super::{
    LedgerError,
    model::{CommittedEntry, EntryError, EntryRequest, EntryResult, Phase, TransferRequest},
    retry::{Retryable, with_retry},
};

const MAX_KEY_LEN: usize = 200;

/// Submits entries; the outer `Result` fails only when the database itself is
/// unavailable. Each entry commits or is refused on its own.
#[tracing::instrument(skip_all, fields(entries = entries.len()))]
pub fn submit(
    conn: &mut PgConnection,
    entries: &[EntryRequest],
) -> Result<Vec<EntryResult>, LedgerError> {
    let mut results: Vec<Option<EntryResult>> = entries
        .iter()
        .map(|e| check_shape(e).err().map(Err))
        .collect();
    let candidates: Vec<usize> = (0..entries.len())
        .filter(|&i| results[i].is_none())
        .collect();
    if candidates.is_empty() {
        return Ok(results.into_iter().map(Option::unwrap).collect());
    }
    let hashes: Vec<[u8; 32]> = entries.iter().map(request_hash).collect();

    match with_retry(|| conn.transaction(|conn| attempt(conn, entries, &candidates, &hashes))) {
        Ok(decided) => {
            for (i, result) in decided {
                results[i] = Some(result);
            }
        }
        // A database constraint refused something the checks above let through.
        // Submit one by one so that only the offending entry fails.
        Err(AttemptError::Db(e)) if is_constraint_violation(&e) => {
            if let [only] = candidates[..] {
                results[only] = Some(Err(EntryError::RefusedByDatabase {
                    reason: constraint_reason(&e),
                }));
            } else {
                for i in candidates {
                    results[i] = Some(submit_one(conn, &entries[i])?);
                }
            }
        }
        Err(AttemptError::Db(e)) => return Err(LedgerError::Database(e)),
        Err(AttemptError::Raced) => return Err(LedgerError::Contention),
    }
    let results: Vec<EntryResult> = results
        .into_iter()
        .map(|r| r.expect("every entry is decided"))
        .collect();
    for (entry, result) in entries.iter().zip(&results) {
        if let Err(error) = result {
            tracing::info!(key = %entry.idempotency_key, kind = %entry.kind, %error, "entry refused");
        }
    }
    Ok(results)
}

/// Submits exactly one entry and returns its result: for callers that book one
/// entry at a time.
#[tracing::instrument(skip_all, fields(key = %entry.idempotency_key, kind = %entry.kind))]
pub fn submit_one(
    conn: &mut PgConnection,
    entry: &EntryRequest,
) -> Result<EntryResult, LedgerError> {
    Ok(submit(conn, std::slice::from_ref(entry))?
        .pop()
        .expect("submit decides every entry it is given"))
}

/// SHA-256 over the canonical JSON of everything but the key. Object keys are
/// sorted here rather than trusting `serde_json`'s map order, which another crate
/// can switch to insertion order (its `preserve_order` feature).
pub(crate) fn request_hash(entry: &EntryRequest) -> [u8; 32] {
    let value = serde_json::to_value(entry).expect("entry requests always serialize");
    let json = serde_json::to_vec(&canonical(value)).expect("JSON values always serialize");
    digest::digest(&digest::SHA256, &json)
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

/// The same value with every object's keys in sorted order.
fn canonical(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(canonical).collect())
        }
        other => other,
    }
}

fn check_shape(entry: &EntryRequest) -> Result<(), EntryError> {
    let key_len = entry.idempotency_key.chars().count();
    if key_len == 0 || key_len > MAX_KEY_LEN {
        return Err(EntryError::InvalidIdempotencyKey);
    }
    let kind = entry.kind.as_bytes();
    let kind_ok = (1..=32).contains(&kind.len())
        && kind[0].is_ascii_lowercase()
        && kind.iter().all(|b| b.is_ascii_lowercase() || *b == b'_');
    if !kind_ok {
        return Err(EntryError::InvalidKind);
    }
    if entry.transfers.is_empty() {
        return Err(EntryError::NoTransfers);
    }
    for (index, transfer) in entry.transfers.iter().enumerate() {
        match transfer {
            TransferRequest::Move {
                debit,
                credit,
                amount,
                ..
            }
            | TransferRequest::Hold {
                debit,
                credit,
                amount,
                ..
            } => {
                if *amount <= 0 {
                    return Err(EntryError::NonPositiveAmount { index });
                }
                if debit == credit {
                    return Err(EntryError::SameAccount { index });
                }
            }
            TransferRequest::Post {
                amount: Some(amount),
                ..
            } if *amount <= 0 => {
                return Err(EntryError::NonPositiveAmount { index });
            }
            TransferRequest::Post { .. } | TransferRequest::Void { .. } => {}
        }
        if let TransferRequest::Hold { timeout_secs, .. } = transfer
            && *timeout_secs <= 0
        {
            return Err(EntryError::InvalidTimeout { index });
        }
    }
    Ok(())
}

enum AttemptError {
    Db(DieselError),
    /// Another transaction committed one of our keys after we looked.
    Raced,
}

impl From<DieselError> for AttemptError {
    fn from(e: DieselError) -> Self {
        Self::Db(e)
    }
}

impl Retryable for AttemptError {
    fn retry_reason(&self) -> Option<&'static str> {
        match self {
            Self::Db(e) => e.retry_reason(),
            Self::Raced => Some("a concurrent batch committed one of its keys"),
        }
    }
}

/// A balance row: one shard of one account.
type RowKey = (AccountId, i16);

/// Changes to the four counters of one balance row.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    debits_posted: i64,
    credits_posted: i64,
    debits_pending: i64,
    credits_pending: i64,
}

impl Counters {
    fn add(&mut self, other: Counters) {
        self.debits_posted += other.debits_posted;
        self.credits_posted += other.credits_posted;
        self.debits_pending += other.debits_pending;
        self.credits_pending += other.credits_pending;
    }

    fn subtract(&mut self, other: Counters) {
        self.debits_posted -= other.debits_posted;
        self.credits_posted -= other.credits_posted;
        self.debits_pending -= other.debits_pending;
        self.credits_pending -= other.credits_pending;
    }

    fn is_zero(&self) -> bool {
        self.debits_posted == 0
            && self.credits_posted == 0
            && self.debits_pending == 0
            && self.credits_pending == 0
    }
}

#[derive(Queryable)]
struct AccountMeta {
    id: AccountId,
    asset: String,
    shards: i16,
}

/// An open or resolved hold, as the batch found it.
#[derive(Queryable)]
struct HoldRow {
    id: TransferId,
    asset: String,
    debit_account_id: AccountId,
    debit_shard: i16,
    credit_account_id: AccountId,
    credit_shard: i16,
    amount: i64,
    expires_at: Option<DateTime<Utc>>,
}

/// A leg resolved to concrete balance rows, ready to insert.
struct PlannedTransfer<'a> {
    asset: &'a str,
    debit: RowKey,
    credit: RowKey,
    amount: i64,
    phase: Phase,
    /// For post/void: the hold and the amount it holds.
    hold: Option<(TransferId, i64)>,
    hold_expires_at: Option<DateTime<Utc>>,
    timeout_secs: Option<i64>,
}

impl PlannedTransfer<'_> {
    /// How this leg changes its two rows.
    fn effects(&self) -> [(RowKey, Counters); 2] {
        let held = self.hold.map_or(0, |(_, held)| held);
        let (debit, credit) = match self.phase {
            Phase::Posted => (
                Counters {
                    debits_posted: self.amount,
                    ..Counters::default()
                },
                Counters {
                    credits_posted: self.amount,
                    ..Counters::default()
                },
            ),
            Phase::Pending => (
                Counters {
                    debits_pending: self.amount,
                    ..Counters::default()
                },
                Counters {
                    credits_pending: self.amount,
                    ..Counters::default()
                },
            ),
            Phase::PostPending => (
                Counters {
                    debits_posted: self.amount,
                    debits_pending: -held,
                    ..Counters::default()
                },
                Counters {
                    credits_posted: self.amount,
                    credits_pending: -held,
                    ..Counters::default()
                },
            ),
            Phase::VoidPending => (
                Counters {
                    debits_pending: -held,
                    ..Counters::default()
                },
                Counters {
                    credits_pending: -held,
                    ..Counters::default()
                },
            ),
        };
        [(self.debit, debit), (self.credit, credit)]
    }
}

#[derive(QueryableByName)]
struct LockedRow {
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = SmallInt)]
    shard: i16,
    #[diesel(sql_type = Bool)]
    no_overdraft: bool,
    #[diesel(sql_type = BigInt)]
    debits_posted: i64,
    #[diesel(sql_type = BigInt)]
    credits_posted: i64,
    #[diesel(sql_type = BigInt)]
    debits_pending: i64,
    #[diesel(sql_type = BigInt)]
    credits_pending: i64,
}

struct RowState {
    no_overdraft: bool,
    counters: Counters,
    /// As locked, so that only the difference is written back.
    original: Counters,
}

impl RowState {
    fn is_valid(&self) -> bool {
        let c = &self.counters;
        let non_negative = c.debits_posted >= 0
            && c.credits_posted >= 0
            && c.debits_pending >= 0
            && c.credits_pending >= 0;
        non_negative
            && (!self.no_overdraft || c.debits_posted + c.debits_pending <= c.credits_posted)
    }
}

/// How an entry of this batch turned out before anything is inserted.
enum Decision<'a> {
    Done(EntryResult),
    Accept(Vec<PlannedTransfer<'a>>),
    /// The same key as an entry accepted earlier in this batch.
    SameAs {
        first: usize,
        same_request: bool,
    },
}

#[allow(clippy::too_many_lines)] // one transaction, read top to bottom
fn attempt(
    conn: &mut PgConnection,
    entries: &[EntryRequest],
    candidates: &[usize],
    hashes: &[[u8; 32]],
) -> Result<Vec<(usize, EntryResult)>, AttemptError> {
    // 1. What the batch refers to.
    let mut account_ids = HashSet::new();
    let mut hold_ids = HashSet::new();
    for &i in candidates {
        for transfer in &entries[i].transfers {
            match transfer {
                TransferRequest::Move { debit, credit, .. }
                | TransferRequest::Hold { debit, credit, .. } => {
                    account_ids.extend([*debit, *credit]);
                }
                TransferRequest::Post { pending, .. } | TransferRequest::Void { pending } => {
                    hold_ids.insert(*pending);
                }
            }
        }
    }
    // Most batches move value and resolve no hold: skip those look-ups then.
    let holds: HashMap<TransferId, HoldRow> = if hold_ids.is_empty() {
        HashMap::new()
    } else {
        transfers::table
            .filter(transfers::id.eq_any(hold_ids.iter().copied()))
            .filter(transfers::phase.eq(Phase::Pending.as_str()))
            .select((
                transfers::id,
                transfers::asset,
                transfers::debit_account_id,
                transfers::debit_shard,
                transfers::credit_account_id,
                transfers::credit_shard,
                transfers::amount,
                transfers::expires_at,
            ))
            .load::<HoldRow>(conn)?
            .into_iter()
            .map(|h| (h.id, h))
            .collect()
    };
    let metas: HashMap<AccountId, AccountMeta> = accounts::table
        .filter(accounts::id.eq_any(account_ids.iter().copied()))
        .select((accounts::id, accounts::asset, accounts::shards))
        .load::<AccountMeta>(conn)?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();

    let plans: Vec<(usize, Result<Vec<PlannedTransfer>, EntryError>)> = candidates
        .iter()
        .map(|&i| (i, plan(&entries[i], &metas, &holds)))
        .collect();

    // 2. Lock every row the batch touches, in one global order.
    let mut row_keys: Vec<RowKey> = plans
        .iter()
        .filter_map(|(_, plan)| plan.as_ref().ok())
        .flatten()
        .flat_map(|t| [t.debit, t.credit])
        .collect();
    row_keys.sort_unstable();
    row_keys.dedup();
    let waiting = std::time::Instant::now();
    let mut rows = lock_rows(conn, &row_keys)?;
    tracing::debug!(
        rows = row_keys.len(),
        waited_us = u64::try_from(waiting.elapsed().as_micros()).unwrap_or(u64::MAX),
        "balance rows locked"
    );
    // Read after the locks are held, so a hold's timeout is judged at the moment
    // its rows can no longer change under us. It is also the booking time of the
    // entries and transfers, and the effective time of entries not backdated:
    // `clock::now` is the wall clock in production and the simulator's clock in
    // a simulation, where days pass in seconds.
    let now = crate::clock::now();

    // What is already in the books: keys and resolved holds.
    let keys: Vec<&str> = candidates
        .iter()
        .map(|&i| entries[i].idempotency_key.as_str())
        .collect();
    let existing: HashMap<String, (JournalEntryId, Vec<u8>)> = journal_entries::table
        .filter(journal_entries::idempotency_key.eq_any(&keys))
        .select((
            journal_entries::idempotency_key,
            journal_entries::id,
            journal_entries::request_hash,
        ))
        .load::<(String, JournalEntryId, Vec<u8>)>(conn)?
        .into_iter()
        .map(|(key, id, hash)| (key, (id, hash)))
        .collect();
    let mut resolved: HashSet<TransferId> = if hold_ids.is_empty() {
        HashSet::new()
    } else {
        transfers::table
            .filter(transfers::pending_id.eq_any(hold_ids.iter().copied()))
            .select(transfers::pending_id.assume_not_null())
            .load(conn)?
            .into_iter()
            .collect()
    };

    // 3. Decide each entry in order.
    let mut first_with_key: HashMap<&str, usize> = HashMap::new();
    let mut decisions: Vec<(usize, Decision)> = Vec::with_capacity(plans.len());
    for (i, plan) in plans {
        let entry = &entries[i];
        let decision = if let Some((id, hash)) = existing.get(&entry.idempotency_key) {
            Decision::Done(if hash.as_slice() == hashes[i] {
                Ok(CommittedEntry {
                    entry_id: *id,
                    transfer_ids: Vec::new(),
                    replayed: true,
                })
            } else {
                Err(EntryError::IdempotencyConflict { entry_id: *id })
            })
        } else if let Some(&first) = first_with_key.get(entry.idempotency_key.as_str()) {
            Decision::SameAs {
                first,
                same_request: hashes[first] == hashes[i],
            }
        } else {
            let plan = plan
                .and_then(|plan| backdated_only(entry, now).map(|()| plan))
                .and_then(|plan| apply(plan, &mut rows, &mut resolved, now));
            match plan {
                Ok(plan) => {
                    first_with_key.insert(&entry.idempotency_key, i);
                    Decision::Accept(plan)
                }
                Err(e) => Decision::Done(Err(e)),
            }
        };
        decisions.push((i, decision));
    }

    // 4. Write what was accepted.
    let mut accepted: Vec<(usize, &Vec<PlannedTransfer>)> = decisions
        .iter()
        .filter_map(|(i, d)| match d {
            Decision::Accept(plan) => Some((*i, plan)),
            _ => None,
        })
        .collect();
    accepted.sort_unstable_by_key(|(i, _)| entries[*i].idempotency_key.as_str());
    let new_entries: Vec<_> = accepted
        .iter()
        .map(|(i, _)| {
            (
                journal_entries::idempotency_key.eq(&entries[*i].idempotency_key),
                journal_entries::request_hash.eq(&hashes[*i][..]),
                journal_entries::kind.eq(&entries[*i].kind),
                journal_entries::metadata.eq(&entries[*i].metadata),
                journal_entries::created_at.eq(now),
                journal_entries::effective_at.eq(entries[*i].effective_at.unwrap_or(now)),
            )
        })
        .collect();
    let entry_ids: HashMap<String, JournalEntryId> = diesel::insert_into(journal_entries::table)
        .values(&new_entries)
        .on_conflict_do_nothing()
        .returning((journal_entries::idempotency_key, journal_entries::id))
        .load::<(String, JournalEntryId)>(conn)?
        .into_iter()
        .collect();
    if entry_ids.len() != accepted.len() {
        return Err(AttemptError::Raced);
    }

    let new_transfers: Vec<_> = accepted
        .iter()
        .flat_map(|(i, plan)| {
            let entry_id = entry_ids[&entries[*i].idempotency_key];
            plan.iter().map(move |t| {
                (
                    transfers::journal_entry_id.eq(entry_id),
                    transfers::asset.eq(t.asset),
                    transfers::debit_account_id.eq(t.debit.0),
                    transfers::debit_shard.eq(t.debit.1),
                    transfers::credit_account_id.eq(t.credit.0),
                    transfers::credit_shard.eq(t.credit.1),
                    transfers::amount.eq(t.amount),
                    transfers::phase.eq(t.phase.as_str()),
                    transfers::pending_id.eq(t.hold.map(|(id, _)| id)),
                    transfers::expires_at.eq(t.timeout_secs.map(|s| now + Duration::seconds(s))),
                    transfers::created_at.eq(now),
                )
            })
        })
        .collect();
    let mut transfer_ids: HashMap<JournalEntryId, Vec<TransferId>> = HashMap::new();
    if !new_transfers.is_empty() {
        let inserted: Vec<(JournalEntryId, TransferId)> = diesel::insert_into(transfers::table)
            .values(&new_transfers)
            .returning((transfers::journal_entry_id, transfers::id))
            .load(conn)?;
        for (entry_id, transfer_id) in inserted {
            transfer_ids.entry(entry_id).or_default().push(transfer_id);
        }
    }
    // Ids come from one sequence in insertion order, which is request order.
    for ids in transfer_ids.values_mut() {
        ids.sort_unstable();
    }
    write_balances(conn, &rows)?;

    // Results, including replays of keys first committed earlier or in this batch.
    let committed = |i: usize, replayed: bool| {
        let entry_id = entry_ids[&entries[i].idempotency_key];
        CommittedEntry {
            entry_id,
            transfer_ids: transfer_ids.get(&entry_id).cloned().unwrap_or_default(),
            replayed,
        }
    };
    let mut replay_ids: Vec<JournalEntryId> = Vec::new();
    let mut results: Vec<(usize, EntryResult)> = decisions
        .into_iter()
        .map(|(i, decision)| {
            let result = match decision {
                Decision::Accept(_) => Ok(committed(i, false)),
                Decision::SameAs {
                    first,
                    same_request: true,
                } => Ok(committed(first, true)),
                Decision::SameAs {
                    first,
                    same_request: false,
                } => Err(EntryError::IdempotencyConflict {
                    entry_id: committed(first, false).entry_id,
                }),
                Decision::Done(result) => {
                    if let Ok(c) = &result
                        && c.replayed
                    {
                        replay_ids.push(c.entry_id);
                    }
                    result
                }
            };
            (i, result)
        })
        .collect();
    fill_replayed_transfer_ids(conn, &replay_ids, &mut results)?;
    Ok(results)
}

/// Resolves an entry's legs to balance rows. House accounts with several shards
/// get a random shard per leg, which is what spreads their lock contention.
fn plan<'a>(
    entry: &'a EntryRequest,
    metas: &HashMap<AccountId, AccountMeta>,
    holds: &'a HashMap<TransferId, HoldRow>,
) -> Result<Vec<PlannedTransfer<'a>>, EntryError> {
    let row = |account: AccountId, asset: &str| -> Result<RowKey, EntryError> {
        let meta = metas
            .get(&account)
            .ok_or(EntryError::AccountNotFound { account })?;
        if meta.asset != asset {
            return Err(EntryError::AssetMismatch {
                account,
                expected: asset.to_owned(),
                actual: meta.asset.clone(),
            });
        }
        let shard = if meta.shards > 1 {
            rand::random_range(0..meta.shards)
        } else {
            0
        };
        Ok((account, shard))
    };
    entry
        .transfers
        .iter()
        .map(|transfer| match transfer {
            TransferRequest::Move {
                debit,
                credit,
                asset,
                amount,
            }
            | TransferRequest::Hold {
                debit,
                credit,
                asset,
                amount,
                ..
            } => {
                let timeout_secs = match transfer {
                    TransferRequest::Hold { timeout_secs, .. } => Some(*timeout_secs),
                    _ => None,
                };
                Ok(PlannedTransfer {
                    asset,
                    debit: row(*debit, asset)?,
                    credit: row(*credit, asset)?,
                    amount: *amount,
                    phase: if timeout_secs.is_some() {
                        Phase::Pending
                    } else {
                        Phase::Posted
                    },
                    hold: None,
                    hold_expires_at: None,
                    timeout_secs,
                })
            }
            TransferRequest::Post { pending, .. } | TransferRequest::Void { pending }
                if holds.contains_key(pending) =>
            {
                let hold = &holds[pending];
                let (phase, amount) = match transfer {
                    TransferRequest::Post { amount, .. } => {
                        (Phase::PostPending, amount.unwrap_or(hold.amount))
                    }
                    _ => (Phase::VoidPending, hold.amount),
                };
                if amount > hold.amount {
                    return Err(EntryError::PostExceedsPending { pending: *pending });
                }
                Ok(PlannedTransfer {
                    asset: &hold.asset,
                    debit: (hold.debit_account_id, hold.debit_shard),
                    credit: (hold.credit_account_id, hold.credit_shard),
                    amount,
                    phase,
                    hold: Some((hold.id, hold.amount)),
                    hold_expires_at: hold.expires_at,
                    timeout_secs: None,
                })
            }
            TransferRequest::Post { pending, .. } | TransferRequest::Void { pending } => {
                Err(EntryError::PendingNotFound { pending: *pending })
            }
        })
        .collect()
}

/// Applies an entry's legs to the locked rows if every row stays valid; otherwise
/// leaves them untouched.
/// An entry may be backdated (imported history), never dated after its booking.
fn backdated_only(entry: &EntryRequest, now: DateTime<Utc>) -> Result<(), EntryError> {
    match entry.effective_at {
        Some(effective_at) if effective_at > now => {
            Err(EntryError::EffectiveInFuture { effective_at })
        }
        _ => Ok(()),
    }
}

fn apply<'a>(
    plan: Vec<PlannedTransfer<'a>>,
    rows: &mut HashMap<RowKey, RowState>,
    resolved: &mut HashSet<TransferId>,
    now: DateTime<Utc>,
) -> Result<Vec<PlannedTransfer<'a>>, EntryError> {
    let mut resolving = HashSet::new();
    let mut deltas: HashMap<RowKey, Counters> = HashMap::new();
    for transfer in &plan {
        if let Some((pending, _)) = transfer.hold {
            if resolved.contains(&pending) || !resolving.insert(pending) {
                return Err(EntryError::PendingAlreadyResolved { pending });
            }
            // An expired hold may still be voided (the timeout job does), never posted.
            if transfer.phase == Phase::PostPending
                && transfer.hold_expires_at.is_some_and(|at| at <= now)
            {
                return Err(EntryError::PendingExpired { pending });
            }
        }
        for (key, delta) in transfer.effects() {
            deltas.entry(key).or_default().add(delta);
        }
    }
    for (key, delta) in &deltas {
        let row = &rows[key];
        let mut after = RowState {
            no_overdraft: row.no_overdraft,
            counters: row.counters,
            original: row.original,
        };
        after.counters.add(*delta);
        if !after.is_valid() {
            return Err(EntryError::Overdraft { account: key.0 });
        }
    }
    for (key, delta) in deltas {
        rows.get_mut(&key)
            .expect("planned rows are locked")
            .counters
            .add(delta);
    }
    resolved.extend(resolving);
    Ok(plan)
}

type LockedRows = HashMap<RowKey, RowState>;

/// Locks the rows and returns their balances.
fn lock_rows(conn: &mut PgConnection, keys: &[RowKey]) -> QueryResult<LockedRows> {
    let (ids, shards): (Vec<i64>, Vec<i16>) = keys.iter().map(|(id, shard)| (id.0, *shard)).unzip();
    // LockRows sits above the Sort, so rows are locked in (account_id, shard) order.
    let locked: Vec<LockedRow> = diesel::sql_query(
        "SELECT b.account_id, b.shard, b.no_overdraft, b.debits_posted, b.credits_posted, \
                b.debits_pending, b.credits_pending \
         FROM account_balances b \
         JOIN unnest($1::int8[], $2::int2[]) AS k(account_id, shard) \
           ON b.account_id = k.account_id AND b.shard = k.shard \
         ORDER BY b.account_id, b.shard \
         FOR UPDATE OF b",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<SmallInt>, _>(shards)
    .load(conn)?;
    let rows = locked
        .into_iter()
        .map(|r| {
            let counters = Counters {
                debits_posted: r.debits_posted,
                credits_posted: r.credits_posted,
                debits_pending: r.debits_pending,
                credits_pending: r.credits_pending,
            };
            (
                (AccountId(r.account_id), r.shard),
                RowState {
                    no_overdraft: r.no_overdraft,
                    counters,
                    original: counters,
                },
            )
        })
        .collect();
    Ok(rows)
}

/// Writes every changed row in one statement.
fn write_balances(conn: &mut PgConnection, rows: &HashMap<RowKey, RowState>) -> QueryResult<()> {
    let mut changed: Vec<(RowKey, Counters)> = rows
        .iter()
        .filter_map(|(key, row)| {
            let mut delta = row.counters;
            delta.subtract(row.original);
            (!delta.is_zero()).then_some((*key, delta))
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    changed.sort_unstable_by_key(|(key, _)| *key);
    let column = |f: fn(&Counters) -> i64| changed.iter().map(|(_, c)| f(c)).collect::<Vec<i64>>();
    diesel::sql_query(
        "UPDATE account_balances b SET \
            debits_posted = b.debits_posted + d.debits_posted, \
            credits_posted = b.credits_posted + d.credits_posted, \
            debits_pending = b.debits_pending + d.debits_pending, \
            credits_pending = b.credits_pending + d.credits_pending \
         FROM unnest($1::int8[], $2::int2[], $3::int8[], $4::int8[], $5::int8[], $6::int8[]) \
           AS d(account_id, shard, debits_posted, credits_posted, debits_pending, credits_pending) \
         WHERE b.account_id = d.account_id AND b.shard = d.shard",
    )
    .bind::<Array<BigInt>, _>(
        changed
            .iter()
            .map(|((id, _), _)| id.0)
            .collect::<Vec<i64>>(),
    )
    .bind::<Array<SmallInt>, _>(
        changed
            .iter()
            .map(|((_, shard), _)| *shard)
            .collect::<Vec<i16>>(),
    )
    .bind::<Array<BigInt>, _>(column(|c| c.debits_posted))
    .bind::<Array<BigInt>, _>(column(|c| c.credits_posted))
    .bind::<Array<BigInt>, _>(column(|c| c.debits_pending))
    .bind::<Array<BigInt>, _>(column(|c| c.credits_pending))
    .execute(conn)
    .map(drop)
}

/// A replayed entry returns the transfer ids its first submission got.
fn fill_replayed_transfer_ids(
    conn: &mut PgConnection,
    entry_ids: &[JournalEntryId],
    results: &mut [(usize, EntryResult)],
) -> QueryResult<()> {
    if entry_ids.is_empty() {
        return Ok(());
    }
    let mut by_entry: HashMap<JournalEntryId, Vec<TransferId>> = HashMap::new();
    for (entry_id, transfer_id) in transfers::table
        .filter(transfers::journal_entry_id.eq_any(entry_ids))
        .order(transfers::id)
        .select((transfers::journal_entry_id, transfers::id))
        .load::<(JournalEntryId, TransferId)>(conn)?
    {
        by_entry.entry(entry_id).or_default().push(transfer_id);
    }
    for (_, result) in results.iter_mut() {
        if let Ok(c) = result
            && c.replayed
            && c.transfer_ids.is_empty()
        {
            c.transfer_ids = by_entry.get(&c.entry_id).cloned().unwrap_or_default();
        }
    }
    Ok(())
}

fn is_constraint_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(
            DatabaseErrorKind::CheckViolation
                | DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::NotNullViolation
                | DatabaseErrorKind::RestrictViolation,
            _
        )
    )
}

fn constraint_reason(e: &DieselError) -> String {
    match e {
        DieselError::DatabaseError(_, info) => {
            info.constraint_name().unwrap_or(info.message()).to_owned()
        }
        other => other.to_string(),
    }
}
