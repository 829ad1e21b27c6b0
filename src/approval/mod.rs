//! Maker-checker approvals. An action that needs approval becomes a request; other
//! users with an allowed role approve or reject it. Above a configurable amount it
//! needs two approvers; nobody decides their own request. The final approval runs
//! the action in the same transaction, so an approved request and its effect are
//! never apart.

mod registry;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

pub use registry::{ActionFailed, Registry};

use crate::{
    audit::{self, Change},
    db::schema::{approval_decisions, approvals},
    domain::{
        actor::{Actor, ActorKind},
        id::MerchantId,
        money::Money,
        text_enum::text_enum,
    },
    error::{Class, Classify, Kind, Message, Refusal},
};

text_enum! {
    /// Where a request stands: `Failed` when approved but its action refused.
    pub enum ApprovalStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Failed => "failed",
    }
}

/// Whose users may see and decide a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Platform,
    Merchant(MerchantId),
}

impl Scope {
    fn as_db(self) -> String {
        match self {
            Self::Platform => "platform".to_owned(),
            Self::Merchant(id) => format!("merchant:{id}"),
        }
    }

    /// The scope a user acts in.
    pub fn of(actor: &Actor) -> Option<Self> {
        match (actor.kind, actor.merchant_id) {
            (ActorKind::Operator, _) => Some(Self::Platform),
            (ActorKind::MerchantUser, Some(id)) => Some(Self::Merchant(id)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// From this amount on, two different approvers are needed.
    pub dual_approval_from: Money,
}

/// What a maker asks for.
#[derive(Debug, Clone)]
pub struct NewApproval {
    /// Names the action in the `Registry`, e.g. `operator.grant_admin`.
    pub kind: &'static str,
    pub scope: Scope,
    /// Everything the action needs to run later.
    pub payload: serde_json::Value,
    /// A short description a checker recognises (a name, an email, an amount).
    pub summary: String,
    pub amount: Option<Money>,
    pub approver_roles: &'static [&'static str],
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = approvals, check_for_backend(diesel::pg::Pg))]
pub struct Approval {
    pub id: i64,
    pub kind: String,
    pub scope: String,
    pub payload: serde_json::Value,
    pub summary: String,
    pub amount_fen: Option<i64>,
    /// PostgreSQL array elements are nullable to diesel; ours never are.
    pub approver_roles: Vec<Option<String>>,
    pub required_approvals: i16,
    pub maker_kind: String,
    pub maker_id: i64,
    pub maker_label: String,
    pub status: ApprovalStatus,
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = approval_decisions, check_for_backend(diesel::pg::Pg))]
pub struct Decision {
    pub checker_kind: String,
    pub checker_id: i64,
    pub checker_label: String,
    pub approve: bool,
    pub reason: Option<String>,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("approval not found")]
    NotFound,
    #[error("this request has already been decided")]
    NotPending,
    #[error("you cannot decide your own request")]
    OwnRequest,
    #[error("you have already decided this request")]
    AlreadyDecided,
    #[error("your role may not decide this request")]
    RoleNotAllowed,
    #[error("a reason is required to reject")]
    ReasonRequired,
    #[error("only operators and merchant users make or decide requests")]
    NotAUser,
    #[error("no action is registered for {0}")]
    UnknownKind(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for ApprovalError {
    fn class(&self) -> Class {
        use Kind::{Conflict, Forbidden, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::NotFound => (NotFound, "error.not_found.text"),
            Self::NotPending => (Conflict, "approval.error.not_pending"),
            Self::OwnRequest => (Forbidden, "approval.error.own_request"),
            Self::AlreadyDecided => (Conflict, "approval.error.already_decided"),
            Self::RoleNotAllowed => (Forbidden, "approval.error.role"),
            Self::ReasonRequired => (Unprocessable, "approval.error.reason"),
            Self::NotAUser | Self::UnknownKind(_) | Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "approval_refused", Message::new(key)))
    }
}

/// Files a request for approval.
#[tracing::instrument(skip_all)]
pub fn request(
    conn: &mut PgConnection,
    maker: &Actor,
    new: &NewApproval,
    policy: Policy,
    registry: &Registry,
) -> Result<Approval, ApprovalError> {
    if !registry.knows(new.kind) {
        return Err(ApprovalError::UnknownKind(new.kind.to_owned()));
    }
    let maker_id = maker
        .id
        .filter(|_| Scope::of(maker).is_some())
        .ok_or(ApprovalError::NotAUser)?;
    let required: i16 = if new.amount.is_some_and(|a| a >= policy.dual_approval_from) {
        2
    } else {
        1
    };
    conn.transaction(|conn| {
        let approval: Approval = diesel::insert_into(approvals::table)
            .values((
                approvals::kind.eq(new.kind),
                approvals::scope.eq(new.scope.as_db()),
                approvals::payload.eq(&new.payload),
                approvals::summary.eq(&new.summary),
                approvals::amount_fen.eq(new.amount.map(Money::fen)),
                approvals::approver_roles.eq(new
                    .approver_roles
                    .iter()
                    .map(|r| (*r).to_owned())
                    .collect::<Vec<_>>()),
                approvals::required_approvals.eq(required),
                approvals::maker_kind.eq(maker.kind.as_str()),
                approvals::maker_id.eq(maker_id),
                approvals::maker_label.eq(&maker.label),
            ))
            .returning(Approval::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            maker,
            Change::new("approval.request", "approval", approval.id).after(&approval),
        )?;
        Ok(approval)
    })
}

/// Approves or rejects. The decision that completes the approvals runs the action.
#[tracing::instrument(skip_all, fields(id = %id))]
pub fn decide(
    conn: &mut PgConnection,
    id: i64,
    checker: &Actor,
    approve: bool,
    reason: Option<&str>,
    registry: &Registry,
) -> Result<Approval, ApprovalError> {
    let scope = Scope::of(checker).ok_or(ApprovalError::NotAUser)?;
    let checker_id = checker.id.ok_or(ApprovalError::NotAUser)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if !approve && reason.is_none() {
        return Err(ApprovalError::ReasonRequired);
    }
    conn.transaction(|conn| {
        // The row lock puts concurrent decisions on one request in line.
        let approval: Approval = approvals::table
            .find(id)
            .filter(approvals::scope.eq(scope.as_db()))
            .select(Approval::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(ApprovalError::NotFound)?;
        if approval.status != ApprovalStatus::Pending {
            return Err(ApprovalError::NotPending);
        }
        if approval.maker_kind == checker.kind.as_str() && approval.maker_id == checker_id {
            return Err(ApprovalError::OwnRequest);
        }
        if !approval
            .approver_roles
            .iter()
            .flatten()
            .any(|role| *role == checker.role)
        {
            return Err(ApprovalError::RoleNotAllowed);
        }
        let inserted = diesel::insert_into(approval_decisions::table)
            .values((
                approval_decisions::approval_id.eq(id),
                approval_decisions::checker_kind.eq(checker.kind.as_str()),
                approval_decisions::checker_id.eq(checker_id),
                approval_decisions::checker_label.eq(&checker.label),
                approval_decisions::approve.eq(approve),
                approval_decisions::reason.eq(reason),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if inserted == 0 {
            return Err(ApprovalError::AlreadyDecided);
        }

        let approvers: HashSet<(String, i64)> = approval_decisions::table
            .filter(approval_decisions::approval_id.eq(id))
            .filter(approval_decisions::approve)
            .select((
                approval_decisions::checker_kind,
                approval_decisions::checker_id,
            ))
            .load::<(String, i64)>(conn)?
            .into_iter()
            .collect();
        let (status, outcome) = if !approve {
            (ApprovalStatus::Rejected, reason.map(str::to_owned))
        } else if approvers.len()
            >= usize::try_from(approval.required_approvals).unwrap_or(usize::MAX)
        {
            // A failed action rolls back its own writes but not the decision.
            match conn.transaction(|conn| registry.run(conn, &approval, checker)) {
                Ok(outcome) => (ApprovalStatus::Approved, Some(outcome)),
                Err(ActionFailed(why)) => (ApprovalStatus::Failed, Some(why)),
            }
        } else {
            (ApprovalStatus::Pending, None)
        };
        let decided: Approval = diesel::update(approvals::table.find(id))
            .set((
                approvals::status.eq(status),
                approvals::outcome.eq(outcome),
                approvals::decided_at.eq((status != ApprovalStatus::Pending).then(Utc::now)),
            ))
            .returning(Approval::as_returning())
            .get_result(conn)?;
        let action = if approve {
            "approval.approve"
        } else {
            "approval.reject"
        };
        audit::record(
            conn,
            checker,
            Change::new(action, "approval", id)
                .before(approval.status)
                .after(&decided),
        )?;
        Ok(decided)
    })
}

/// How many requests in a scope wait for a decision.
pub fn count_pending(conn: &mut PgConnection, scope: Scope) -> QueryResult<i64> {
    approvals::table
        .filter(approvals::scope.eq(scope.as_db()))
        .filter(approvals::status.eq(ApprovalStatus::Pending))
        .count()
        .get_result(conn)
}

/// Requests in a scope, newest first; `pending_only` for the work queue.
pub fn list(
    conn: &mut PgConnection,
    scope: Scope,
    pending_only: bool,
    limit: i64,
) -> QueryResult<Vec<Approval>> {
    let mut query = approvals::table
        .filter(approvals::scope.eq(scope.as_db()))
        .select(Approval::as_select())
        .into_boxed();
    if pending_only {
        query = query.filter(approvals::status.eq(ApprovalStatus::Pending));
    }
    query.order(approvals::id.desc()).limit(limit).load(conn)
}

/// One request with its decisions, if it is in the scope.
pub fn get(
    conn: &mut PgConnection,
    scope: Scope,
    id: i64,
) -> QueryResult<Option<(Approval, Vec<Decision>)>> {
    let Some(approval) = approvals::table
        .find(id)
        .filter(approvals::scope.eq(scope.as_db()))
        .select(Approval::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let decisions = approval_decisions::table
        .filter(approval_decisions::approval_id.eq(id))
        .order(approval_decisions::decided_at)
        .select(Decision::as_select())
        .load(conn)?;
    Ok(Some((approval, decisions)))
}
