//! What merchants owe the house after a settlement (收款): each collection has a
//! due date. The merchant pays by bank transfer, which finance records
//! (`house:bank → merchant:m:settlement`, kind `settlement_receipt`); once the
//! due date has passed, what is still owed is taken from the settlement deposit
//! where the merchant's terms allow it (`merchant:m:deposit →
//! merchant:m:settlement`, kind `deposit_deduction`), automatically by the job
//! or by hand with maker-checker (`settlement.collect`). Whatever is still owed
//! after that makes the collection overdue: a `settlement.overdue` risk alert is
//! raised and the merchant may not issue points until it is paid
//! (`deposit::ensure_issuing_allowed`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    approval::{self, ActionFailed, Approval, NewApproval, Policy, Registry, Scope},
    audit::{self, Change},
    chart::{self, CNY, HouseAccount},
    db::schema::settlement_collections,
    domain::{
        actor::Actor,
        id::{MerchantId, StatementId},
        money::Money,
        text_enum::text_enum,
    },
    error::{Class, Classify, Kind, Message, Refusal},
    i18n::Locale,
    ledger::{self, EntryError, EntryRequest, LedgerError, TransferRequest},
    merchant,
    risk::{self, NewAlert, Severity},
};

use super::terms;

/// Kind of the entry that records a merchant's bank transfer to the house.
pub const RECEIPT_KIND: &str = "settlement_receipt";
/// The same kind as `deposit`'s deductions: the statement shows them together.
pub const DEDUCTION_KIND: &str = "deposit_deduction";
pub const OVERDUE_ALERT: &str = "settlement.overdue";
/// The approval kind of a deduction by hand, registered at start-up.
pub const APPROVAL_KIND: &str = "settlement.collect";
const APPROVER_ROLES: &[&str] = &["finance", "admin"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = settlement_collections, check_for_backend(diesel::pg::Pg))]
struct Row {
    id: i64,
    statement_id: StatementId,
    merchant_id: MerchantId,
    amount_fen: i64,
    collected_fen: i64,
    due_on: NaiveDate,
    status: CollectionStatus,
    created_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collection {
    pub id: i64,
    pub statement_id: StatementId,
    pub merchant_id: MerchantId,
    pub amount: Money,
    pub collected: Money,
    pub due_on: NaiveDate,
    pub status: CollectionStatus,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Collection {
    pub fn outstanding(&self) -> Money {
        Money::from_fen(self.amount.fen() - self.collected.fen())
    }

    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            CollectionStatus::Open | CollectionStatus::Overdue
        )
    }
}

impl From<Row> for Collection {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            statement_id: r.statement_id,
            merchant_id: r.merchant_id,
            amount: Money::from_fen(r.amount_fen),
            collected: Money::from_fen(r.collected_fen),
            due_on: r.due_on,
            status: r.status,
            created_at: r.created_at,
            closed_at: r.closed_at,
        }
    }
}

text_enum! {
    pub enum CollectionStatus {
        Open => "open",
        Overdue => "overdue",
        Paid => "paid",
        /// Rolled into a later statement.
        Superseded => "superseded",
    }
}

/// Still owed: open or overdue.
pub(super) const UNPAID: [CollectionStatus; 2] =
    [CollectionStatus::Open, CollectionStatus::Overdue];

#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    #[error("no such collection")]
    NotFound,
    #[error("the collection is no longer open")]
    Closed,
    #[error("the amount must be more than zero and at most what is owed")]
    Amount,
    #[error("a bank reference of 1 to 64 characters is needed")]
    Reference,
    #[error("the merchant's terms do not allow taking it from the deposit")]
    NotAllowed,
    #[error("the deposit holds nothing to take")]
    EmptyDeposit,
    #[error("the ledger refused the entry: {0}")]
    Entry(#[from] EntryError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Approval(#[from] approval::ApprovalError),
    #[error("database error")]
    Database(#[from] diesel::result::Error),
}

impl Classify for CollectionError {
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::NotFound => (NotFound, "settlement.collection.error.not_found"),
            Self::Closed => (Conflict, "settlement.collection.error.closed"),
            Self::Amount => (Unprocessable, "settlement.collection.error.amount"),
            Self::Reference => (Unprocessable, "settlement.collection.error.reference"),
            Self::NotAllowed => (Conflict, "settlement.collection.error.not_allowed"),
            Self::EmptyDeposit => (Conflict, "settlement.collection.error.empty_deposit"),
            Self::Entry(_) | Self::Ledger(_) | Self::Approval(_) | Self::Database(_) => {
                return Class::System;
            }
        };
        Class::Refusal(Refusal::new(kind, "collection_refused", Message::new(key)))
    }
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Collection>> {
    settlement_collections::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Collection::from))
}

pub fn of_statement(
    conn: &mut PgConnection,
    statement_id: StatementId,
) -> QueryResult<Option<Collection>> {
    settlement_collections::table
        .filter(settlement_collections::statement_id.eq(statement_id))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Collection::from))
}

/// Collections, open and overdue first, then the most recent.
pub fn list(conn: &mut PgConnection, open_only: bool, limit: i64) -> QueryResult<Vec<Collection>> {
    let mut query = settlement_collections::table.into_boxed();
    if open_only {
        query = query.filter(settlement_collections::status.eq_any(UNPAID));
    }
    Ok(query
        .order((
            settlement_collections::closed_at.desc().nulls_first(),
            settlement_collections::due_on,
        ))
        .limit(limit)
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Collection::from)
        .collect())
}

/// What merchants still owe the house across open and overdue collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outstanding {
    pub open: i64,
    pub overdue: i64,
    /// Owed less what was already collected.
    pub amount: Money,
}

pub fn outstanding(conn: &mut PgConnection) -> QueryResult<Outstanding> {
    let rows: Vec<(CollectionStatus, i64, Option<i64>)> = settlement_collections::table
        .filter(settlement_collections::status.eq_any(UNPAID))
        .group_by(settlement_collections::status)
        .select((
            settlement_collections::status,
            diesel::dsl::count_star(),
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>(
                "sum(amount_fen - collected_fen)::int8",
            ),
        ))
        .load(conn)?;
    let (mut open, mut overdue, mut fen) = (0, 0, 0);
    for (status, count, owed) in rows {
        if status == CollectionStatus::Overdue {
            overdue = count;
        } else {
            open = count;
        }
        fen += owed.unwrap_or(0);
    }
    Ok(Outstanding {
        open,
        overdue,
        amount: Money::from_fen(fen),
    })
}

/// Whether the merchant has a collection past its due date and still unpaid.
pub fn has_overdue(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        settlement_collections::table
            .filter(settlement_collections::merchant_id.eq(merchant_id))
            .filter(settlement_collections::status.eq(CollectionStatus::Overdue)),
    ))
    .get_result(conn)
}

fn lock(conn: &mut PgConnection, id: i64) -> Result<Collection, CollectionError> {
    let collection: Collection = settlement_collections::table
        .find(id)
        .select(Row::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(CollectionError::NotFound)?
        .into();
    if collection.is_open() {
        Ok(collection)
    } else {
        Err(CollectionError::Closed)
    }
}

/// Books `amount` towards the collection under `key` and updates what is
/// collected; paid in full closes it and resolves its overdue alert.
fn apply(
    conn: &mut PgConnection,
    actor: &Actor,
    collection: &Collection,
    key: String,
    kind: &str,
    from: crate::domain::id::AccountId,
    amount: Money,
) -> Result<Collection, CollectionError> {
    let settlement = chart::open(conn, &chart::merchant_settlement(collection.merchant_id))?;
    let entry = EntryRequest::new(key, kind)
        .metadata(json!({
            "collection_id": collection.id,
            "merchant_id": collection.merchant_id,
            "statement_id": collection.statement_id,
        }))
        .transfer(TransferRequest::move_(from, settlement, CNY, amount.fen()));
    let committed = ledger::submit_one(conn, &entry)??;
    if committed.replayed {
        return Ok(collection.clone());
    }
    let collected = collection.collected.fen() + amount.fen();
    let paid = collected >= collection.amount.fen();
    diesel::update(settlement_collections::table.find(collection.id))
        .set((
            settlement_collections::collected_fen.eq(collected),
            settlement_collections::status.eq(if paid {
                CollectionStatus::Paid
            } else {
                collection.status
            }),
            settlement_collections::closed_at.eq(paid.then(Utc::now)),
        ))
        .execute(conn)?;
    if paid {
        risk::resolve_unresolved(conn, actor, OVERDUE_ALERT, collection.merchant_id).map_err(
            |e| match e {
                risk::RiskError::Database(e) => CollectionError::Database(e),
                _ => CollectionError::Closed,
            },
        )?;
    }
    audit::record(
        conn,
        actor,
        Change::new(
            "settlement.collection.collect",
            "settlement_collection",
            collection.id,
        )
        .after(json!({ "kind": kind, "amount_fen": amount.fen(), "collected_fen": collected })),
    )?;
    Ok(find(conn, collection.id)?.expect("locked above"))
}

/// Finance records the merchant's bank transfer for the collection.
#[tracing::instrument(skip_all, fields(collection_id = collection_id))]
pub fn record_receipt(
    conn: &mut PgConnection,
    actor: &Actor,
    collection_id: i64,
    amount: Money,
    bank_reference: &str,
) -> Result<Collection, CollectionError> {
    let reference = bank_reference.trim();
    if reference.is_empty() || reference.chars().count() > 64 {
        return Err(CollectionError::Reference);
    }
    conn.transaction(|conn| {
        let collection = lock(conn, collection_id)?;
        if !amount.is_positive() || amount > collection.outstanding() {
            return Err(CollectionError::Amount);
        }
        let bank = chart::ensure_house_accounts(conn)?.id(HouseAccount::Bank);
        apply(
            conn,
            actor,
            &collection,
            format!("collect:{collection_id}:bank:{reference}"),
            RECEIPT_KIND,
            bank,
            amount,
        )
    })
}

/// Takes what is still owed, as far as the deposit holds it. `attempt` tells
/// apart the keys of successive deductions for one collection.
fn collect_from_deposit(
    conn: &mut PgConnection,
    actor: &Actor,
    collection: &Collection,
    attempt: &str,
) -> Result<Collection, CollectionError> {
    let deposit_spec = chart::merchant_deposit(collection.merchant_id);
    let deposit = chart::open(conn, &deposit_spec)?;
    let available = ledger::balance(conn, deposit)?.available();
    let amount = collection.outstanding().fen().min(available);
    if amount <= 0 {
        return Err(CollectionError::EmptyDeposit);
    }
    apply(
        conn,
        actor,
        collection,
        format!("collect:{}:deposit:{attempt}", collection.id),
        DEDUCTION_KIND,
        deposit,
        Money::from_fen(amount),
    )
}

/// The job's pass over collections whose due date is before `today`: take what
/// the deposit allows, and mark what is still owed overdue with a risk alert.
/// Returns how many collections it handled.
#[tracing::instrument(skip_all)]
pub fn review_due(
    conn: &mut PgConnection,
    actor: &Actor,
    today: NaiveDate,
) -> Result<usize, CollectionError> {
    let due: Vec<i64> = settlement_collections::table
        .filter(settlement_collections::status.eq(CollectionStatus::Open))
        .filter(settlement_collections::due_on.lt(today))
        .select(settlement_collections::id)
        .load(conn)?;
    let mut handled = 0;
    for id in due {
        conn.transaction(|conn| {
            let Ok(mut collection) = lock(conn, id) else {
                return Ok::<_, CollectionError>(());
            };
            if collection.status != CollectionStatus::Open {
                return Ok(());
            }
            if terms::of(conn, collection.merchant_id)?.deduct_from_deposit {
                match collect_from_deposit(conn, actor, &collection, &today.to_string()) {
                    Ok(after) => collection = after,
                    Err(CollectionError::EmptyDeposit) => {}
                    Err(e) => return Err(e),
                }
            }
            if collection.is_open() {
                mark_overdue(conn, actor, &collection)?;
            }
            handled += 1;
            Ok(())
        })?;
    }
    Ok(handled)
}

fn mark_overdue(
    conn: &mut PgConnection,
    actor: &Actor,
    collection: &Collection,
) -> Result<(), CollectionError> {
    diesel::update(settlement_collections::table.find(collection.id))
        .set(settlement_collections::status.eq(CollectionStatus::Overdue))
        .execute(conn)?;
    let code = merchant::find(conn, collection.merchant_id)?.map_or_else(String::new, |m| m.code);
    risk::raise(
        conn,
        actor,
        &NewAlert {
            kind: OVERDUE_ALERT,
            severity: Severity::Critical,
            merchant_id: collection.merchant_id,
            summary: format!(
                "{code}: settlement of ¥{} overdue since {}; issuing blocked",
                collection.outstanding(),
                collection.due_on
            ),
            details: json!({
                "collection_id": collection.id,
                "statement_id": collection.statement_id,
                "outstanding_fen": collection.outstanding().fen(),
                "due_on": collection.due_on,
            }),
        },
    )?;
    Ok(())
}

/// By hand as by the job, only where the merchant's terms allow it.
fn ensure_deductible(
    conn: &mut PgConnection,
    collection: &Collection,
) -> Result<(), CollectionError> {
    if terms::of(conn, collection.merchant_id)?.deduct_from_deposit {
        Ok(())
    } else {
        Err(CollectionError::NotAllowed)
    }
}

/// What the approval of a deduction by hand carries.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    collection_id: i64,
}

/// Files a deduction from the deposit for the collection, for another finance or
/// admin operator to approve.
#[tracing::instrument(skip_all, fields(collection_id = collection_id))]
pub fn request_deposit_collection(
    conn: &mut PgConnection,
    maker: &Actor,
    collection_id: i64,
    policy: Policy,
    registry: &Registry,
) -> Result<Approval, CollectionError> {
    let collection = find(conn, collection_id)?.ok_or(CollectionError::NotFound)?;
    if !collection.is_open() {
        return Err(CollectionError::Closed);
    }
    ensure_deductible(conn, &collection)?;
    let code = merchant::find(conn, collection.merchant_id)?.map_or_else(String::new, |m| m.code);
    Ok(approval::request(
        conn,
        maker,
        &NewApproval {
            kind: APPROVAL_KIND,
            scope: Scope::Platform,
            payload: serde_json::to_value(Payload { collection_id })
                .expect("the payload serializes"),
            summary: format!(
                "{code} · collection #{collection_id} · ¥{}",
                collection.outstanding()
            ),
            amount: Some(collection.outstanding()),
            approver_roles: APPROVER_ROLES,
        },
        policy,
        registry,
    )?)
}

/// The approval action `settlement.collect`, run as the checker.
#[tracing::instrument(skip_all)]
pub fn collect_approved(
    conn: &mut PgConnection,
    approval: &Approval,
    checker: &Actor,
) -> Result<String, ActionFailed> {
    let locale = Locale::default();
    let failed = || {
        ActionFailed(
            locale
                .t("settlement.collection.outcome.failed")
                .into_owned(),
        )
    };
    let payload: Payload = serde_json::from_value(approval.payload.clone()).map_err(|e| {
        tracing::error!(error = %e, approval = approval.id, "collection request unreadable");
        failed()
    })?;
    let result = conn.transaction(|conn| {
        let collection = lock(conn, payload.collection_id)?;
        // The terms may have changed while the request waited.
        ensure_deductible(conn, &collection)?;
        collect_from_deposit(
            conn,
            checker,
            &collection,
            &format!("approval-{}", approval.id),
        )
    });
    match result {
        Ok(after) => Ok(locale.t_with(
            "settlement.collection.outcome.collected",
            &[
                ("collected", &after.collected.to_string()),
                ("outstanding", &after.outstanding().to_string()),
            ],
        )),
        Err(e) if e.is_refusal() => Err(ActionFailed(e.message(locale).unwrap_or_default())),
        // A failure of the system still ends the approval, with a plain text
        // rather than its cause, which goes to the log.
        Err(e) => {
            tracing::error!(error = %e, approval = approval.id, "collection failed");
            Err(failed())
        }
    }
}
