//! Manual point adjustments (积分调整): a merchant's owner or manager adds
//! points to a member's wallet, or takes some back, with a reason — a goodwill
//! credit, a correction of a wrong earn.
//!
//! Up to `APPROVAL_THRESHOLD` points either way it is booked at once; above it,
//! it waits for a second owner or manager of the same merchant (maker-checker,
//! `approval::Scope::Merchant`), and the approval's action books it. The
//! threshold holds for what one person books without approval for one
//! merchant in any 24 hours, not for each adjustment alone: five adjustments
//! of 999 are not a way around it.
//!
//! One adjustment, in one transaction: the member's row is locked (so lots and
//! balance stay in step with earns and refunds), then one ledger entry, kind
//! `adjust`, key `adjust:{id}`:
//! - positive: `program:P:issuance → member:c:P`, and a lot expiring by the
//!   program's policy. Issuing must be allowed (`deposit::ensure_issuing_allowed`).
//! - negative: `member:c:P → program:P:issuance`, lots consumed oldest first;
//!   refused when the member's available balance is too small (the database
//!   refuses the overdraft too).
//!
//! A rejected or failed approval leaves the row `pending` without an entry; its
//! state is the approval's, which `list` reports alongside.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    approval::{
        self, ActionFailed, Approval, ApprovalError, ApprovalStatus, NewApproval, Policy, Registry,
        Scope,
    },
    audit::{self, Change},
    chart,
    db::schema::{approvals, point_adjustments},
    deposit::{self, IssuingBlocked},
    domain::{
        actor::Actor,
        id::{JournalEntryId, MemberId, MerchantId},
        points::ProgramCode,
        text_enum::text_enum,
    },
    error::{Class, Classify, Kind, Message, Refusal},
    i18n::Locale,
    ledger::{self, EntryError, EntryRequest, LedgerError, TransferRequest},
    people::member,
    program::{self, Program},
};

use super::lot;

/// The approval kind, registered with `apply` at start-up.
pub const APPROVAL_KIND: &str = "points.adjust";
/// Adjustments of more points than this, either way, need a second person.
pub const APPROVAL_THRESHOLD: i64 = 1_000;
/// Who may make and approve adjustments (`MerchantRole` names).
pub const ADJUSTERS: &[&str] = &["owner", "manager"];
/// A reason is a sentence, not an essay.
const MAX_REASON_CHARS: usize = 200;
/// One adjustment may not move more than this many points (a typo guard).
pub const MAX_POINTS: i64 = 10_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = point_adjustments, check_for_backend(diesel::pg::Pg))]
pub struct Adjustment {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub member_id: MemberId,
    /// Positive credits the member, negative takes points back.
    pub points: i64,
    pub reason: String,
    pub status: AdjustmentStatus,
    pub approval_id: Option<i64>,
    pub journal_entry_id: Option<i64>,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
}

/// An adjustment as the merchant's list shows it, with its approval's state.
#[derive(Debug, Clone)]
pub struct Listed {
    pub adjustment: Adjustment,
    pub approval_status: Option<ApprovalStatus>,
}

impl Listed {
    /// `booked`, or while unbooked its approval's state: `pending`,
    /// `rejected` or `failed`.
    pub fn state(&self) -> &'static str {
        match (self.adjustment.status, self.approval_status) {
            (AdjustmentStatus::Booked, _) | (_, None) => self.adjustment.status.as_str(),
            (_, Some(approval)) => approval.as_str(),
        }
    }
}

text_enum! {
    /// See the module documentation.
    pub enum AdjustmentStatus {
        Pending => "pending",
        Booked => "booked",
        Rejected => "rejected",
    }
}

/// What a maker asks for; the member found by the portal (blind index).
#[derive(Debug, Clone)]
pub struct NewAdjustment {
    pub merchant_id: MerchantId,
    pub member_id: MemberId,
    /// How a checker recognises the member: their masked mobile number.
    pub member_label: String,
    pub points: i64,
    pub reason: String,
    /// The asking form's one-time token (16–64 letters, digits, `-`, `_`): the
    /// same token again returns the first adjustment.
    pub request_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AdjustmentError {
    #[error("the points must be a whole number other than zero, at most {MAX_POINTS}")]
    InvalidPoints,
    #[error("a reason of 1 to {MAX_REASON_CHARS} characters is required")]
    InvalidReason,
    #[error("no such member")]
    UnknownMember,
    #[error("the merchant has no points program")]
    NoProgram,
    #[error("issuing is blocked: {0}")]
    Blocked(#[from] IssuingBlocked),
    #[error("the member has {available} points available, fewer than {wanted}")]
    Insufficient { available: i64, wanted: i64 },
    #[error("the adjustment was already booked")]
    AlreadyBooked,
    #[error("the ledger refused the entry: {0}")]
    Refused(EntryError),
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Lots(#[from] lot::LotError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for AdjustmentError {
    fn class(&self) -> Class {
        use Kind::{Conflict, Forbidden, Unprocessable};
        let (kind, message) = match self {
            Self::InvalidPoints => (
                Unprocessable,
                Message::new("earning_portals.adjust.error.points").arg("max", MAX_POINTS),
            ),
            Self::InvalidReason => (
                Unprocessable,
                Message::new("earning_portals.adjust.error.reason").arg("max", MAX_REASON_CHARS),
            ),
            Self::UnknownMember => (Forbidden, Message::new("earn.error.unknown_member")),
            Self::NoProgram => (Conflict, Message::new("earn.error.no_program")),
            // A deposit that could not be checked is the system's failure here.
            Self::Blocked(IssuingBlocked::Unavailable(_))
            | Self::Refused(_)
            | Self::Approval(_)
            | Self::Ledger(_)
            | Self::Lots(_)
            | Self::Database(_) => return Class::System,
            Self::Blocked(blocked) => return blocked.class(),
            Self::Insufficient { available, wanted } => (
                Conflict,
                Message::new("earning_portals.adjust.error.insufficient")
                    .arg("available", available)
                    .arg("wanted", wanted),
            ),
            Self::AlreadyBooked => (
                Conflict,
                Message::new("earning_portals.adjust.error.booked"),
            ),
        };
        Class::Refusal(Refusal::new(kind, "adjustment_refused", message))
    }
}

/// Everything the approved action needs, kept with the approval request.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    adjustment_id: i64,
}

/// Records an adjustment: booked now when small, otherwise filed for approval
/// (its row `pending`, with the approval's id). Checks what can be checked now
/// — the program, issuing, the member's balance — so a request that could not
/// be booked is refused before anyone is asked to approve it.
#[tracing::instrument(skip_all)]
pub fn request(
    conn: &mut PgConnection,
    maker: &Actor,
    new: &NewAdjustment,
    policy: Policy,
    registry: &Registry,
) -> Result<Adjustment, AdjustmentError> {
    if new.points == 0 || new.points.abs() > MAX_POINTS {
        return Err(AdjustmentError::InvalidPoints);
    }
    let reason = new.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(AdjustmentError::InvalidReason);
    }
    conn.transaction(|conn| {
        lock_maker(conn, new.merchant_id, &maker.label)?;
        lock_member(conn, new.member_id)?;
        let asked_before: Option<Adjustment> = point_adjustments::table
            .filter(point_adjustments::merchant_id.eq(new.merchant_id))
            .filter(point_adjustments::request_token.eq(&new.request_token))
            .select(Adjustment::as_select())
            .first(conn)
            .optional()?;
        if let Some(first) = asked_before {
            return Ok(first);
        }
        let (_, code) = program_of(conn, new.merchant_id)?;
        check_bookable(conn, new.merchant_id, new.member_id, &code, new.points)?;
        let row: Adjustment = diesel::insert_into(point_adjustments::table)
            .values((
                point_adjustments::merchant_id.eq(new.merchant_id),
                point_adjustments::member_id.eq(new.member_id),
                point_adjustments::points.eq(new.points),
                point_adjustments::reason.eq(reason),
                point_adjustments::status.eq(AdjustmentStatus::Pending),
                point_adjustments::requested_by.eq(&maker.label),
                point_adjustments::request_token.eq(&new.request_token),
            ))
            .returning(Adjustment::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            maker,
            Change::new("points.adjust.request", "point_adjustment", row.id).after(&row),
        )?;
        let booked_alone = booked_without_approval(conn, new.merchant_id, &maker.label)?;
        if booked_alone + new.points.abs() <= APPROVAL_THRESHOLD {
            return book(conn, maker, &row);
        }
        let filed = approval::request(
            conn,
            maker,
            &NewApproval {
                kind: APPROVAL_KIND,
                scope: Scope::Merchant(new.merchant_id),
                payload: serde_json::to_value(Payload {
                    adjustment_id: row.id,
                })
                .expect("the payload serializes"),
                summary: format!(
                    "{} · {}{} {} · {reason}",
                    new.member_label,
                    if new.points > 0 { "+" } else { "" },
                    new.points,
                    code.as_str()
                ),
                // Points, not money: one approver, whatever the CNY threshold.
                amount: None,
                approver_roles: ADJUSTERS,
            },
            policy,
            registry,
        )?;
        Ok(diesel::update(point_adjustments::table.find(row.id))
            .set(point_adjustments::approval_id.eq(filed.id))
            .returning(Adjustment::as_returning())
            .get_result(conn)?)
    })
}

/// The approval action `points.adjust`, run as the checker who completed the
/// approval. Its outcome is stored with the approval, in the default language.
#[tracing::instrument(skip_all)]
pub fn apply(
    conn: &mut PgConnection,
    approval: &Approval,
    checker: &Actor,
) -> Result<String, ActionFailed> {
    let locale = Locale::default();
    let failed = || {
        ActionFailed(
            locale
                .t("earning_portals.adjust.outcome.failed")
                .into_owned(),
        )
    };
    let payload: Payload =
        serde_json::from_value(approval.payload.clone()).map_err(|_| failed())?;
    let booked = (|| {
        let row: Adjustment = point_adjustments::table
            .find(payload.adjustment_id)
            .select(Adjustment::as_select())
            .for_update()
            .first(conn)?;
        if row.status == AdjustmentStatus::Booked {
            return Err(AdjustmentError::AlreadyBooked);
        }
        lock_member(conn, row.member_id)?;
        book(conn, checker, &row)
    })();
    match booked {
        Ok(row) => Ok(locale.t_with(
            "earning_portals.adjust.outcome.booked",
            &[("points", &row.points.to_string())],
        )),
        Err(e) if e.is_refusal() => Err(ActionFailed(e.message(locale).unwrap_or_default())),
        Err(e) => {
            tracing::error!(error = %e, approval = approval.id, "point adjustment failed");
            Err(failed())
        }
    }
}

/// The merchant's adjustments, newest first, with their approvals' states.
pub fn list(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    limit: i64,
) -> QueryResult<Vec<Listed>> {
    let rows: Vec<(Adjustment, Option<ApprovalStatus>)> = point_adjustments::table
        .left_join(approvals::table)
        .filter(point_adjustments::merchant_id.eq(merchant_id))
        .order(point_adjustments::id.desc())
        .limit(limit)
        .select((Adjustment::as_select(), approvals::status.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(adjustment, approval_status)| Listed {
            adjustment,
            approval_status,
        })
        .collect())
}

/// Serialises one person's adjustments for one merchant until the transaction
/// ends, so two sent at once cannot both count a total that leaves out the
/// other (people are named by their actor label, which is what the rows keep).
fn lock_maker(conn: &mut PgConnection, merchant_id: MerchantId, label: &str) -> QueryResult<()> {
    crate::db::advisory_xact_lock(conn, &format!("points.adjust:{merchant_id}:{label}"))
}

/// The points, either way, `label` booked for the merchant without approval
/// in the last 24 hours (by the database's clock).
fn booked_without_approval(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    label: &str,
) -> QueryResult<i64> {
    use diesel::dsl::sql;
    point_adjustments::table
        .filter(point_adjustments::merchant_id.eq(merchant_id))
        .filter(point_adjustments::requested_by.eq(label))
        .filter(point_adjustments::status.eq(AdjustmentStatus::Booked))
        .filter(point_adjustments::approval_id.is_null())
        .filter(sql::<diesel::sql_types::Bool>(
            "point_adjustments.created_at > now() - interval '24 hours'",
        ))
        .select(sql::<diesel::sql_types::BigInt>(
            "COALESCE(sum(abs(points)), 0)::bigint",
        ))
        .first(conn)
}

fn lock_member(conn: &mut PgConnection, member_id: MemberId) -> Result<(), AdjustmentError> {
    if member::lock(conn, member_id)? {
        Ok(())
    } else {
        Err(AdjustmentError::UnknownMember)
    }
}

fn program_of(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> Result<(Program, ProgramCode), AdjustmentError> {
    let program = program::of_merchant(conn, merchant_id)?.ok_or(AdjustmentError::NoProgram)?;
    let code = ProgramCode::parse(&program.code).map_err(|_| AdjustmentError::NoProgram)?;
    Ok((program, code))
}

/// Issuing allowed for a credit; enough available points for a debit.
fn check_bookable(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    member_id: MemberId,
    code: &ProgramCode,
    points: i64,
) -> Result<(), AdjustmentError> {
    if points > 0 {
        deposit::ensure_issuing_allowed(conn, merchant_id)?;
        return Ok(());
    }
    let wallet = chart::open(conn, &chart::member_wallet(member_id, code))?;
    let available = ledger::balance(conn, wallet)?.available().max(0);
    if available < -points {
        return Err(AdjustmentError::Insufficient {
            available,
            wanted: -points,
        });
    }
    Ok(())
}

/// Books a pending adjustment whose member is locked: the entry, the lots, the
/// row, the audit.
fn book(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Adjustment,
) -> Result<Adjustment, AdjustmentError> {
    let (program, code) = program_of(conn, before.merchant_id)?;
    check_bookable(
        conn,
        before.merchant_id,
        before.member_id,
        &code,
        before.points,
    )?;
    let issuance = chart::open(conn, &chart::program_issuance(&code))?;
    let wallet = chart::open(conn, &chart::member_wallet(before.member_id, &code))?;
    let amount = before.points.abs();
    let (debit, credit) = if before.points > 0 {
        (issuance, wallet)
    } else {
        // Lots before the wallet (see `lot`).
        lot::lock(conn, before.member_id, code.as_str())?;
        (wallet, issuance)
    };
    let entry = EntryRequest::new(format!("adjust:{}", before.id), "adjust")
        .metadata(serde_json::json!({
            "merchant_id": before.merchant_id,
            "member_id": before.member_id,
            "adjustment_id": before.id,
            "approval_id": before.approval_id,
            "points": before.points,
            "reason": before.reason,
        }))
        .transfer(TransferRequest::move_(debit, credit, code.as_str(), amount));
    let submitted = ledger::submit_one(conn, &entry)?;
    let entry_id: JournalEntryId = match submitted {
        Ok(committed) => committed.entry_id,
        // The database has the last word on overdrafts.
        Err(EntryError::Overdraft { .. }) => {
            return Err(AdjustmentError::Insufficient {
                available: ledger::balance(conn, wallet)?.available().max(0),
                wanted: amount,
            });
        }
        Err(e) => return Err(AdjustmentError::Refused(e)),
    };
    if before.points > 0 {
        let expires_at = lot::expiry(crate::clock::now(), program.expiry_months);
        lot::open(
            conn,
            before.member_id,
            code.as_str(),
            amount,
            expires_at,
            entry_id,
        )?;
        super::link_member(conn, before.merchant_id, before.member_id)?;
    } else {
        lot::consume(conn, before.member_id, code.as_str(), amount)?;
    }
    let after: Adjustment = diesel::update(point_adjustments::table.find(before.id))
        .set((
            point_adjustments::status.eq(AdjustmentStatus::Booked),
            point_adjustments::journal_entry_id.eq(entry_id.0),
        ))
        .returning(Adjustment::as_returning())
        .get_result(conn)?;
    audit::record(
        conn,
        actor,
        Change::new("points.adjust", "point_adjustment", after.id)
            .before(before)
            .after(&after),
    )?;
    Ok(after)
}
