//! A merchant's standing in the alliance, as operators change it: its tier, and
//! its status — active, suspended (with a reason; reinstated later), exiting
//! (serving its notice before leaving, see `exit`) or exited (gone for good,
//! its members' points converted). Every change records who, why and when
//! (`status_reason`, `status_changed_at`) and is audited with the merchant as
//! its target, in the change's own transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    crypto::Keys,
    db::schema::merchants,
    domain::{actor::Actor, id::MerchantId, text_enum::text_enum},
    error::{Class, Classify, Kind, Message, Refusal},
};

use super::{Merchant, tier::Tier};

/// Reasons are shown to people and kept in the audit log: a sentence, not an essay.
const MAX_REASON_CHARS: usize = 500;

text_enum! {
    pub enum Status {
        Active => "active",
        Suspended => "suspended",
        /// Leaving: the notice period runs, then its points are converted.
        Exiting => "exiting",
        Exited => "exited",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = merchants, check_for_backend(diesel::pg::Pg))]
pub struct Standing {
    #[diesel(column_name = id)]
    pub merchant_id: MerchantId,
    pub tier: Tier,
    pub status: Status,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
}

/// How to reach a merchant, as its application gave it (None for merchants that
/// predate onboarding).
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = merchants, check_for_backend(diesel::pg::Pg))]
pub struct Contact {
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    /// Plaintext of a row not yet sealed (see `merchant::contact`); read
    /// through `phone()`.
    #[serde(skip)]
    #[diesel(column_name = contact_phone)]
    unsealed_phone: Option<String>,
    #[serde(skip)]
    #[diesel(column_name = contact_phone_ciphertext)]
    sealed_phone: Option<Vec<u8>>,
    pub credit_code: Option<String>,
}

impl Contact {
    /// The contact's mobile number, if the merchant has one.
    pub fn phone(&self, keys: &Keys) -> Option<String> {
        super::contact::open_phone(
            keys,
            self.sealed_phone.as_deref(),
            self.unsealed_phone.as_deref(),
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StandingError {
    #[error("merchant not found")]
    NotFound,
    #[error("a reason is required (at most 500 characters)")]
    InvalidReason,
    #[error("the merchant's status does not allow this")]
    WrongStatus,
    #[error("the merchant already has this tier")]
    SameTier,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for StandingError {
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::NotFound => (NotFound, "error.not_found.text"),
            Self::InvalidReason => (Unprocessable, "merchants.error.reason"),
            Self::WrongStatus => (Conflict, "merchants.error.status"),
            Self::SameTier => (Conflict, "merchants.error.same_tier"),
            Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "standing_refused", Message::new(key)))
    }
}

pub fn of(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Option<Standing>> {
    merchants::table
        .find(merchant_id)
        .select(Standing::as_select())
        .first(conn)
        .optional()
}

pub fn contact(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Option<Contact>> {
    merchants::table
        .find(merchant_id)
        .select(Contact::as_select())
        .first(conn)
        .optional()
}

/// Every merchant, whatever its status, strategic first.
pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<Merchant>> {
    merchants::table
        .order((merchants::tier.desc(), merchants::id))
        .select(Merchant::as_select())
        .load(conn)
}

/// Suspends an active merchant: its members may still exchange out, nothing new
/// is issued.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn suspend(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    reason: &str,
) -> Result<Standing, StandingError> {
    let reason = self::reason(reason).ok_or(StandingError::InvalidReason)?;
    move_status(
        conn,
        actor,
        merchant_id,
        "merchant.suspend",
        &[Status::Active],
        (Status::Suspended, Some(reason)),
    )
}

#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn reinstate(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
) -> Result<Standing, StandingError> {
    move_status(
        conn,
        actor,
        merchant_id,
        "merchant.reinstate",
        &[Status::Suspended],
        (Status::Active, None),
    )
}

/// The merchant starts leaving the alliance: it is `exiting` until its notice
/// ends and its points are converted (`exit::start` records the notice in the
/// same transaction).
pub fn begin_exit(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    reason: &str,
) -> Result<Standing, StandingError> {
    let reason = self::reason(reason).ok_or(StandingError::InvalidReason)?;
    move_status(
        conn,
        actor,
        merchant_id,
        "merchant.exit",
        &[Status::Active, Status::Suspended],
        (Status::Exiting, Some(reason)),
    )
}

/// The merchant has left: its notice is over and its points are converted
/// (`exit::conversion` calls it); the reason it gave is kept.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn finish_exit(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
) -> Result<Standing, StandingError> {
    update(
        conn,
        actor,
        merchant_id,
        "merchant.exited",
        |conn, before| {
            if before.status != Status::Exiting {
                return Err(StandingError::WrongStatus);
            }
            Ok(diesel::update(merchants::table.find(merchant_id))
                .set((
                    merchants::status.eq(Status::Exited),
                    merchants::status_changed_at.eq(diesel::dsl::now),
                ))
                .returning(Standing::as_returning())
                .get_result(conn)?)
        },
    )
}

#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn change_tier(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    tier: Tier,
) -> Result<Standing, StandingError> {
    update(
        conn,
        actor,
        merchant_id,
        "merchant.tier_change",
        |conn, before| {
            if matches!(before.status, Status::Exiting | Status::Exited) {
                return Err(StandingError::WrongStatus);
            }
            if before.tier == tier {
                return Err(StandingError::SameTier);
            }
            Ok(diesel::update(merchants::table.find(merchant_id))
                .set(merchants::tier.eq(tier))
                .returning(Standing::as_returning())
                .get_result(conn)?)
        },
    )
}

/// A reason a person gives for a change (a suspension, a rejection, a
/// deduction), trimmed; None when it is empty or longer than 500 characters.
pub fn reason(input: &str) -> Option<&str> {
    let reason = input.trim();
    (!reason.is_empty() && reason.chars().count() <= MAX_REASON_CHARS).then_some(reason)
}

fn move_status(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    action: &'static str,
    from: &[Status],
    (to, reason): (Status, Option<&str>),
) -> Result<Standing, StandingError> {
    update(conn, actor, merchant_id, action, |conn, before| {
        if !from.contains(&before.status) {
            return Err(StandingError::WrongStatus);
        }
        Ok(diesel::update(merchants::table.find(merchant_id))
            .set((
                merchants::status.eq(to),
                merchants::status_reason.eq(reason),
                merchants::status_changed_at.eq(diesel::dsl::now),
            ))
            .returning(Standing::as_returning())
            .get_result(conn)?)
    })
}

/// Loads (locked), changes and audits one merchant's standing in a transaction.
fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    action: &'static str,
    change: impl FnOnce(&mut PgConnection, &Standing) -> Result<Standing, StandingError>,
) -> Result<Standing, StandingError> {
    conn.transaction(|conn| {
        let before = merchants::table
            .find(merchant_id)
            .select(Standing::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(StandingError::NotFound)?;
        let after = change(conn, &before)?;
        audit::record(
            conn,
            actor,
            Change::new(action, "merchant", merchant_id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}
