//! A standard merchant's request to become strategic (战略级): its owner asks
//! with a reason, an operator approves (the tier changes) or rejects with a note.
//! One request is open at a time (a unique index). Audited with the merchant as
//! the target, like every change to its standing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    db::schema::{merchants, tier_requests},
    domain::{actor::Actor, id::MerchantId, text_enum::text_enum},
    error::{Class, Classify, Kind, Message, Refusal},
};

use super::{
    standing::{self, StandingError},
    tier::Tier,
};

text_enum! {
    /// Where a tier request stands.
    pub enum RequestStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = tier_requests, check_for_backend(diesel::pg::Pg))]
pub struct TierRequest {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub requested_tier: Tier,
    pub reason: String,
    pub requested_by: String,
    pub status: RequestStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl TierRequest {
    pub fn is_pending(&self) -> bool {
        self.status == RequestStatus::Pending
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TierRequestError {
    #[error("not found")]
    NotFound,
    #[error("a reason is required (at most 500 characters)")]
    InvalidReason,
    #[error("declining needs a note (at most 500 characters)")]
    InvalidNote,
    #[error("only an active standard merchant can ask for an upgrade")]
    NotUpgradable,
    #[error("a request is already open")]
    AlreadyOpen,
    #[error("this request has already been decided")]
    AlreadyDecided,
    #[error(transparent)]
    Standing(#[from] StandingError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for TierRequestError {
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::NotFound => (NotFound, "error.not_found.text"),
            Self::InvalidReason => (Unprocessable, "tier_request.error.reason"),
            Self::InvalidNote => (Unprocessable, "tier_request.error.note"),
            Self::NotUpgradable => (Conflict, "tier_request.error.not_upgradable"),
            Self::AlreadyOpen => (Conflict, "tier_request.error.open"),
            Self::AlreadyDecided => (Conflict, "tier_request.error.decided"),
            Self::Standing(e) => return e.class(),
            Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(
            kind,
            "tier_request_refused",
            Message::new(key),
        ))
    }
}

/// Files the merchant's request to become strategic.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn request_upgrade(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    reason: &str,
) -> Result<TierRequest, TierRequestError> {
    let reason = standing::reason(reason).ok_or(TierRequestError::InvalidReason)?;
    conn.transaction(|conn| {
        let (tier, status): (Tier, standing::Status) = merchants::table
            .find(merchant_id)
            .select((merchants::tier, merchants::status))
            .first(conn)
            .optional()?
            .ok_or(TierRequestError::NotFound)?;
        if tier != Tier::Standard || status != standing::Status::Active {
            return Err(TierRequestError::NotUpgradable);
        }
        let request: TierRequest = diesel::insert_into(tier_requests::table)
            .values((
                tier_requests::merchant_id.eq(merchant_id),
                tier_requests::requested_tier.eq(Tier::Strategic),
                tier_requests::reason.eq(reason),
                tier_requests::requested_by.eq(&actor.label),
            ))
            .on_conflict_do_nothing()
            .returning(TierRequest::as_returning())
            .get_result(conn)
            .optional()?
            .ok_or(TierRequestError::AlreadyOpen)?;
        audit::record(
            conn,
            actor,
            Change::new("merchant.tier_request", "merchant", merchant_id).after(&request),
        )?;
        Ok(request)
    })
}

/// Approves (the merchant's tier changes in the same transaction) or rejects
/// (a note is required) an open request of the merchant.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = id))]
pub fn decide(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: i64,
    approve: bool,
    note: &str,
) -> Result<TierRequest, TierRequestError> {
    let note = note.trim();
    let note = if approve && note.is_empty() {
        None
    } else {
        Some(standing::reason(note).ok_or(TierRequestError::InvalidNote)?)
    };
    conn.transaction(|conn| {
        let before: TierRequest = tier_requests::table
            .find(id)
            .filter(tier_requests::merchant_id.eq(merchant_id))
            .select(TierRequest::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(TierRequestError::NotFound)?;
        if !before.is_pending() {
            return Err(TierRequestError::AlreadyDecided);
        }
        if approve {
            // An operator may have changed the tier directly meanwhile.
            match standing::change_tier(conn, actor, merchant_id, before.requested_tier) {
                Ok(_) | Err(StandingError::SameTier) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let after: TierRequest = diesel::update(tier_requests::table.find(id))
            .set((
                tier_requests::status.eq(if approve {
                    RequestStatus::Approved
                } else {
                    RequestStatus::Rejected
                }),
                tier_requests::decided_by.eq(&actor.label),
                tier_requests::decided_at.eq(diesel::dsl::now),
                tier_requests::decision_note.eq(note),
            ))
            .returning(TierRequest::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("merchant.tier_decision", "merchant", merchant_id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}

/// The merchant's latest request, open or decided: what its pages show.
pub fn latest(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> QueryResult<Option<TierRequest>> {
    tier_requests::table
        .filter(tier_requests::merchant_id.eq(merchant_id))
        .order(tier_requests::id.desc())
        .select(TierRequest::as_select())
        .first(conn)
        .optional()
}
