//! Real-name verification (实名认证): a member submits their name and resident
//! ID number; a risk (or admin) operator approves or rejects with a reason. Both
//! values are encrypted (AES-256-GCM, aad naming the column) in the request and,
//! once approved, on the member — which is what `member::identity_verified`
//! reads. Only the ID number's last four characters are stored in the clear, so
//! the queue can be worked without decrypting.
//!
//! A verification provider would decide through `decide` the same way.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    crypto::Keys,
    db::schema::{member_verifications, members},
    domain::{
        actor::Actor,
        id::MemberId,
        resident_id::{ResidentId, ResidentIdError},
        text_enum::text_enum,
    },
    error::{Class, Classify, Kind, Message, Refusal},
};

const NAME_AAD: &[u8] = b"members.real_name";
const ID_NUMBER_AAD: &[u8] = b"members.id_number";
const MAX_NAME_CHARS: usize = 40;
/// Operator roles that decide verifications.
pub const VERIFIERS: &[&str] = &["admin", "risk"];

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = member_verifications, check_for_backend(diesel::pg::Pg))]
pub struct Verification {
    pub id: i64,
    pub member_id: MemberId,
    #[serde(skip)]
    pub real_name_ciphertext: Vec<u8>,
    #[serde(skip)]
    pub id_number_ciphertext: Vec<u8>,
    pub id_number_hint: String,
    pub status: VerificationStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Verification {
    pub fn real_name(&self, keys: &Keys) -> Option<String> {
        let plain = keys.decrypt(&self.real_name_ciphertext, NAME_AAD).ok()?;
        String::from_utf8(plain).ok()
    }
}

text_enum! {
    pub enum VerificationStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    #[error("a name of 2 to {MAX_NAME_CHARS} characters is required")]
    InvalidName,
    #[error(transparent)]
    InvalidIdNumber(#[from] ResidentIdError),
    #[error("the member is already verified")]
    AlreadyVerified,
    #[error("a request is already waiting for review")]
    AlreadyPending,
    #[error("no such request")]
    NotFound,
    #[error("this request has already been decided")]
    NotPending,
    #[error("a reason is required to reject")]
    ReasonRequired,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for VerificationError {
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::InvalidName => (Unprocessable, "verification.error.name"),
            Self::InvalidIdNumber(ResidentIdError::Malformed) => {
                (Unprocessable, "verification.error.id_malformed")
            }
            Self::InvalidIdNumber(ResidentIdError::BadBirthDate) => {
                (Unprocessable, "verification.error.id_birth_date")
            }
            Self::InvalidIdNumber(ResidentIdError::BadChecksum) => {
                (Unprocessable, "verification.error.id_checksum")
            }
            Self::AlreadyVerified => (Conflict, "verification.error.already_verified"),
            Self::AlreadyPending => (Conflict, "verification.error.already_pending"),
            Self::NotFound => (NotFound, "verification.error.not_found"),
            Self::NotPending => (Conflict, "verification.error.not_pending"),
            Self::ReasonRequired => (Unprocessable, "verification.error.reason_required"),
            Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(
            kind,
            "verification_refused",
            Message::new(key),
        ))
    }
}

/// Files the member's request; the values are checked and encrypted.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn submit(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    member_id: MemberId,
    name: &str,
    id_number: &str,
) -> Result<Verification, VerificationError> {
    let name = name.trim();
    let chars = name.chars().count();
    if !(2..=MAX_NAME_CHARS).contains(&chars) || name.chars().any(char::is_control) {
        return Err(VerificationError::InvalidName);
    }
    let id_number = ResidentId::parse(id_number)?;
    conn.transaction(|conn| {
        let verified: bool = members::table
            .find(member_id)
            .select(members::id_number_ciphertext.is_not_null())
            .for_update()
            .first(conn)?;
        if verified {
            return Err(VerificationError::AlreadyVerified);
        }
        if pending_of(conn, member_id)?.is_some() {
            return Err(VerificationError::AlreadyPending);
        }
        let request: Verification = diesel::insert_into(member_verifications::table)
            .values((
                member_verifications::member_id.eq(member_id),
                member_verifications::real_name_ciphertext
                    .eq(keys.encrypt(name.as_bytes(), NAME_AAD)),
                member_verifications::id_number_ciphertext
                    .eq(keys.encrypt(id_number.as_str().as_bytes(), ID_NUMBER_AAD)),
                member_verifications::id_number_hint.eq(id_number.hint()),
            ))
            .returning(Verification::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new(
                "member.verification_submit",
                "member_verification",
                request.id,
            )
            .after(&request),
        )?;
        Ok(request)
    })
}

/// Approves (the values go onto the member) or rejects with a reason.
#[tracing::instrument(skip_all, fields(id = id))]
pub fn decide(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    approve: bool,
    reason: Option<&str>,
) -> Result<Verification, VerificationError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if !approve && reason.is_none() {
        return Err(VerificationError::ReasonRequired);
    }
    conn.transaction(|conn| {
        let before: Verification = member_verifications::table
            .find(id)
            .select(Verification::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(VerificationError::NotFound)?;
        if before.status != VerificationStatus::Pending {
            return Err(VerificationError::NotPending);
        }
        let after: Verification = diesel::update(member_verifications::table.find(id))
            .set((
                member_verifications::status.eq(if approve {
                    VerificationStatus::Approved
                } else {
                    VerificationStatus::Rejected
                }),
                member_verifications::decided_by.eq(&actor.label),
                member_verifications::decided_at.eq(Utc::now()),
                member_verifications::reason.eq(reason),
            ))
            .returning(Verification::as_returning())
            .get_result(conn)?;
        if approve {
            diesel::update(members::table.find(before.member_id))
                .set((
                    members::real_name_ciphertext.eq(&before.real_name_ciphertext),
                    members::id_number_ciphertext.eq(&before.id_number_ciphertext),
                ))
                .execute(conn)?;
        }
        let action = if approve {
            "member.verification_approve"
        } else {
            "member.verification_reject"
        };
        audit::record(
            conn,
            actor,
            Change::new(action, "member_verification", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}

/// The member's request waiting for review, if any.
pub fn pending_of(
    conn: &mut PgConnection,
    member_id: MemberId,
) -> QueryResult<Option<Verification>> {
    member_verifications::table
        .filter(member_verifications::member_id.eq(member_id))
        .filter(member_verifications::status.eq(VerificationStatus::Pending))
        .select(Verification::as_select())
        .first(conn)
        .optional()
}

/// The member's latest request, whatever its state.
pub fn latest_of(
    conn: &mut PgConnection,
    member_id: MemberId,
) -> QueryResult<Option<Verification>> {
    member_verifications::table
        .filter(member_verifications::member_id.eq(member_id))
        .order(member_verifications::id.desc())
        .select(Verification::as_select())
        .first(conn)
        .optional()
}

/// The review queue, oldest first; `pending_only` false shows recent decisions too.
pub fn queue(
    conn: &mut PgConnection,
    pending_only: bool,
    limit: i64,
) -> QueryResult<Vec<Verification>> {
    let mut query = member_verifications::table
        .select(Verification::as_select())
        .into_boxed();
    if pending_only {
        query = query
            .filter(member_verifications::status.eq(VerificationStatus::Pending))
            .order(member_verifications::id.asc());
    } else {
        query = query.order(member_verifications::id.desc());
    }
    query.limit(limit).load(conn)
}
