//! Members (consumers). Their mobile number, real name and ID number are
//! encrypted at rest; the number is found through a keyed blind index. Consent to
//! the privacy policy is recorded with its version every time it changes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    clock,
    crypto::{self, Keys},
    db::schema::{members, privacy_consents},
    domain::{
        actor::Actor, email_address::EmailAddress, id::MemberId, password::NewPassword,
        phone::Phone,
    },
    email::Address,
    i18n::Locale,
};

use super::{PeopleError, credentials::phone_index, is_unique_violation};

/// The privacy policy members agree to now; a new version asks again.
pub const PRIVACY_POLICY_VERSION: &str = "2026-11";
/// Binds the phone ciphertext to its column: it cannot be swapped into another.
const PHONE_AAD: &[u8] = b"members.phone";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members, check_for_backend(diesel::pg::Pg))]
pub struct Member {
    pub id: MemberId,
    pub phone_ciphertext: Vec<u8>,
    pub email: Option<String>,
    pub display_name: String,
    pub tier: String,
    pub locale: String,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// When the member last proved the number by SMS code; None for members
    /// who signed up before codes existed and for enrolled, unclaimed members.
    pub phone_verified_at: Option<DateTime<Utc>>,
}

impl Member {
    pub fn phone(&self, keys: &Keys) -> Result<Phone, crypto::CryptoError> {
        let plain = keys.decrypt(&self.phone_ciphertext, PHONE_AAD)?;
        Phone::parse(std::str::from_utf8(&plain).unwrap_or_default())
            .map_err(|_| crypto::CryptoError::Decrypt)
    }

    pub fn locale(&self) -> Locale {
        self.locale.parse().unwrap_or_default()
    }

    /// Where mail to the member goes; None without an email that parses as an
    /// address (the member is not written to).
    pub fn mail_address(&self) -> Option<Address> {
        self.email.as_deref()?.parse().ok()
    }

    /// Whether the member proved the number: only then may they spend points
    /// from the member app.
    pub fn phone_verified(&self) -> bool {
        self.phone_verified_at.is_some()
    }
}

#[derive(Debug)]
pub struct SignUp {
    pub phone: Phone,
    pub password: NewPassword,
    pub display_name: String,
    pub email: Option<EmailAddress>,
    pub locale: Locale,
    /// The policy version the member agreed to; sign-up needs consent.
    pub consent_version: String,
}

/// What the audit log and approvals say about a member: never the whole number.
#[derive(Debug, Serialize)]
struct MemberRecord<'a> {
    phone: String,
    display_name: &'a str,
    email: Option<&'a str>,
}

/// Opens the account of a new member whose number the caller has had proven
/// (a sign-up code, `phone_code::redeem`): the number counts as verified.
#[tracing::instrument(skip_all)]
pub fn sign_up(
    conn: &mut PgConnection,
    keys: &Keys,
    new: &SignUp,
    ip: Option<&str>,
) -> Result<Member, PeopleError> {
    let display_name = super::display_name(&new.display_name)?;
    let hash = crypto::hash_password(new.password.expose());
    conn.transaction(|conn| {
        let member: Member = diesel::insert_into(members::table)
            .values((
                members::phone_ciphertext
                    .eq(keys.encrypt(new.phone.as_str().as_bytes(), PHONE_AAD)),
                members::phone_index.eq(&phone_index(keys, &new.phone)[..]),
                members::email.eq(new.email.as_ref().map(EmailAddress::as_str)),
                members::display_name.eq(display_name),
                members::password_hash.eq(hash),
                members::locale.eq(new.locale.tag()),
                members::phone_verified_at.eq(clock::now()),
                members::created_at.eq(clock::now()),
                members::tier_since.eq(clock::now()),
            ))
            .returning(Member::as_returning())
            .get_result(conn)
            .map_err(|e| match &e {
                diesel::result::Error::DatabaseError(_, info) if is_unique_violation(&e) => {
                    if info.constraint_name() == Some("members_phone_index_key") {
                        PeopleError::PhoneTaken
                    } else {
                        PeopleError::EmailTaken
                    }
                }
                _ => e.into(),
            })?;
        record_consent(conn, member.id, &new.consent_version, true, ip)?;
        let actor = actor(&member, &new.phone, ip);
        let record = MemberRecord {
            phone: new.phone.masked(),
            display_name: &member.display_name,
            email: member.email.as_deref(),
        };
        audit::record(
            conn,
            &actor,
            Change::new("member.sign_up", "member", member.id).after(record),
        )?;
        Ok(member)
    })
}

/// The holder of an enrolled member's number takes the account over: chooses
/// a password and a name, consents to the privacy policy; the number counts
/// as verified (the caller had it proven by a claim code). Refused with
/// `NotFound` if the account was claimed meanwhile.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn claim(
    conn: &mut PgConnection,
    member_id: MemberId,
    new: &SignUp,
    ip: Option<&str>,
) -> Result<Member, PeopleError> {
    let display_name = super::display_name(&new.display_name)?;
    let hash = crypto::hash_password(new.password.expose());
    conn.transaction(|conn| {
        let member: Member = diesel::update(
            members::table
                .find(member_id)
                .filter(members::password_hash.is_null())
                .filter(members::phone_verified_at.is_null()),
        )
        .set((
            members::email.eq(new.email.as_ref().map(EmailAddress::as_str)),
            members::display_name.eq(display_name),
            members::password_hash.eq(hash),
            members::locale.eq(new.locale.tag()),
            members::phone_verified_at.eq(clock::now()),
        ))
        .returning(Member::as_returning())
        .get_result(conn)
        .optional()
        .map_err(|e| {
            if is_unique_violation(&e) {
                PeopleError::EmailTaken
            } else {
                e.into()
            }
        })?
        .ok_or(PeopleError::NotFound)?;
        record_consent(conn, member.id, &new.consent_version, true, ip)?;
        let record = MemberRecord {
            phone: new.phone.masked(),
            display_name: &member.display_name,
            email: member.email.as_deref(),
        };
        audit::record(
            conn,
            &actor(&member, &new.phone, ip),
            Change::new("member.claim", "member", member.id).after(record),
        )?;
        Ok(member)
    })
}

/// Records that the member proved their number by code (audited).
///
/// `distrust_password`: the proof came without the password (sign-in by
/// code). On a number never proven before, whoever chose the password may
/// not be the number's owner — the account may have been opened with a
/// stranger's number — so the password stops working; the owner signs in by
/// code or chooses a new one. The caller ends the member's other sessions.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn verify_phone(
    conn: &mut PgConnection,
    actor: &Actor,
    member_id: MemberId,
    distrust_password: bool,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        let first_proof: bool = members::table
            .find(member_id)
            .select(members::phone_verified_at.is_null())
            .for_update()
            .first(conn)?;
        let clear_password = distrust_password && first_proof;
        diesel::update(members::table.find(member_id))
            .set(members::phone_verified_at.eq(clock::now()))
            .execute(conn)?;
        if clear_password {
            diesel::update(members::table.find(member_id))
                .set(members::password_hash.eq(None::<String>))
                .execute(conn)?;
        }
        let after = serde_json::json!({ "password_cleared": clear_password });
        audit::record(
            conn,
            actor,
            Change::new("member.phone_verify", "member", member_id).after(after),
        )
    })
}

/// Enrols the holder of `phone` as a member, or finds the member who has it.
/// Enrolled members have no password until they sign up in the member app;
/// without a `name` they are called by their masked number. A name given for
/// an existing member changes nothing: a partner does not rename people.
/// Concurrent enrolments of one number make one member (the second waits on
/// the unique index, then finds the first).
#[tracing::instrument(skip_all)]
pub fn enrol_or_find(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    phone: &Phone,
    name: Option<&str>,
) -> Result<Member, PeopleError> {
    let display_name = match name {
        Some(name) => super::display_name(name)?.to_owned(),
        None => phone.masked(),
    };
    conn.transaction(|conn| {
        let inserted: Option<Member> = diesel::insert_into(members::table)
            .values((
                members::phone_ciphertext.eq(keys.encrypt(phone.as_str().as_bytes(), PHONE_AAD)),
                members::phone_index.eq(&phone_index(keys, phone)[..]),
                members::display_name.eq(&display_name),
            ))
            .on_conflict(members::phone_index)
            .do_nothing()
            .returning(Member::as_returning())
            .get_result(conn)
            .optional()?;
        let Some(member) = inserted else {
            return find_by_phone(conn, keys, phone)?.ok_or(PeopleError::NotFound);
        };
        let record = MemberRecord {
            phone: phone.masked(),
            display_name: &member.display_name,
            email: None,
        };
        audit::record(
            conn,
            actor,
            Change::new("member.enrol", "member", member.id).after(record),
        )?;
        Ok(member)
    })
}

/// One holder of a number to enrol in a batch.
#[derive(Debug, Clone, Copy)]
pub struct Enrolment<'a> {
    pub phone: &'a Phone,
    /// Checked by [`super::display_name`]; `None` calls them by their masked number.
    pub name: Option<&'a str>,
}

/// Rows per INSERT: PostgreSQL binds at most 65,535 parameters per statement.
const ROWS_PER_INSERT: usize = 5_000;

/// Enrols a batch of holders at once — a merchant's import of its members — or
/// finds those who are members already, as [`enrol_or_find`] does one at a
/// time: each one's member id in the order given, and whether this call
/// enrolled them. One audit event records the batch and whom it enrolled,
/// under `import` (the import it belongs to).
#[tracing::instrument(skip_all, fields(holders = batch.len()))]
pub fn enrol_many(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    import: i64,
    batch: &[Enrolment],
) -> Result<Vec<(MemberId, bool)>, PeopleError> {
    let indexes: Vec<[u8; 32]> = batch.iter().map(|e| phone_index(keys, e.phone)).collect();
    let names: Vec<String> = batch
        .iter()
        .map(|e| match e.name {
            Some(name) => super::display_name(name).map(str::to_owned),
            None => Ok(e.phone.masked()),
        })
        .collect::<Result<_, _>>()?;
    conn.transaction(|conn| {
        let mut enrolled: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
        for at in (0..batch.len()).step_by(ROWS_PER_INSERT) {
            let end = (at + ROWS_PER_INSERT).min(batch.len());
            let rows: Vec<_> = (at..end)
                .map(|i| {
                    (
                        members::phone_ciphertext
                            .eq(keys.encrypt(batch[i].phone.as_str().as_bytes(), PHONE_AAD)),
                        members::phone_index.eq(&indexes[i][..]),
                        members::display_name.eq(&names[i]),
                    )
                })
                .collect();
            enrolled.extend(
                diesel::insert_into(members::table)
                    .values(&rows)
                    .on_conflict(members::phone_index)
                    .do_nothing()
                    .returning(members::phone_index)
                    .get_results::<Vec<u8>>(conn)?,
            );
        }
        let wanted: Vec<&[u8]> = indexes.iter().map(|i| &i[..]).collect();
        let mut ids: std::collections::HashMap<Vec<u8>, MemberId> =
            std::collections::HashMap::with_capacity(batch.len());
        for chunk in wanted.chunks(ROWS_PER_INSERT) {
            ids.extend(
                members::table
                    .filter(members::phone_index.eq_any(chunk))
                    .select((members::phone_index, members::id))
                    .load::<(Vec<u8>, MemberId)>(conn)?,
            );
        }
        let found: Vec<(MemberId, bool)> = indexes
            .iter()
            .map(|index| (ids[&index[..]], enrolled.contains(&index[..])))
            .collect();
        let new: Vec<MemberId> = found
            .iter()
            .filter(|(_, new)| *new)
            .map(|(id, _)| *id)
            .collect();
        if !new.is_empty() {
            audit::record(
                conn,
                actor,
                Change::new("member.enrol_batch", "import", import).after(new),
            )?;
        }
        Ok(found)
    })
}

/// Locks the member's row until the transaction ends, so one member's money
/// movements (earns, refunds, adjustments, exchanges) queue behind each other:
/// daily limits stay exact and two debits never both spend the same points.
/// False when there is no such member.
pub fn lock(conn: &mut PgConnection, member_id: MemberId) -> QueryResult<bool> {
    let found: Option<MemberId> = members::table
        .find(member_id)
        .select(members::id)
        .for_update()
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Locks the rows of several members, in id order as every path that locks
/// more than one member does, so no two such paths wait on each other.
pub fn lock_many(conn: &mut PgConnection, member_ids: &[MemberId]) -> QueryResult<()> {
    let mut ids = member_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    members::table
        .filter(members::id.eq_any(&ids))
        .order(members::id)
        .select(members::id)
        .for_update()
        .load::<MemberId>(conn)
        .map(drop)
}

/// Whether the member's real name and ID number are on file (实名认证).
pub fn identity_verified(conn: &mut PgConnection, member_id: MemberId) -> QueryResult<bool> {
    members::table
        .find(member_id)
        .select(
            members::real_name_ciphertext
                .is_not_null()
                .and(members::id_number_ciphertext.is_not_null()),
        )
        .first(conn)
}

/// How a member appears as the actor of their own changes.
pub fn actor(member: &Member, phone: &Phone, ip: Option<&str>) -> Actor {
    Actor {
        kind: crate::domain::actor::ActorKind::Member,
        id: Some(member.id.0),
        label: phone.masked(),
        role: "member".to_owned(),
        merchant_id: None,
        ip: ip.map(str::to_owned),
    }
}

pub fn count(conn: &mut PgConnection) -> QueryResult<i64> {
    members::table.count().get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: MemberId) -> QueryResult<Option<Member>> {
    members::table
        .find(id)
        .select(Member::as_select())
        .first(conn)
        .optional()
}

/// The members with these ids, in no particular order; unknown ids are skipped.
pub fn find_many(conn: &mut PgConnection, ids: &[MemberId]) -> QueryResult<Vec<Member>> {
    members::table
        .filter(members::id.eq_any(ids))
        .select(Member::as_select())
        .load(conn)
}

pub fn find_by_phone(
    conn: &mut PgConnection,
    keys: &Keys,
    phone: &Phone,
) -> QueryResult<Option<Member>> {
    members::table
        .filter(members::phone_index.eq(&phone_index(keys, phone)[..]))
        .select(Member::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = privacy_consents, check_for_backend(diesel::pg::Pg))]
pub struct Consent {
    pub version: String,
    pub granted: bool,
    pub recorded_at: DateTime<Utc>,
}

/// The member's latest consent decision, if any.
pub fn consent(conn: &mut PgConnection, member_id: MemberId) -> QueryResult<Option<Consent>> {
    privacy_consents::table
        .filter(privacy_consents::member_id.eq(member_id))
        .order(privacy_consents::id.desc())
        .select(Consent::as_select())
        .first(conn)
        .optional()
}

/// The member gives or withdraws consent to the current policy (audited).
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn set_consent(
    conn: &mut PgConnection,
    actor: &Actor,
    member_id: MemberId,
    granted: bool,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        record_consent(
            conn,
            member_id,
            PRIVACY_POLICY_VERSION,
            granted,
            actor.ip.as_deref(),
        )?;
        let after = serde_json::json!({ "granted": granted, "version": PRIVACY_POLICY_VERSION });
        audit::record(
            conn,
            actor,
            Change::new("member.consent", "member", member_id).after(after),
        )
    })
}

fn record_consent(
    conn: &mut PgConnection,
    member_id: MemberId,
    version: &str,
    granted: bool,
    ip: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(privacy_consents::table)
        .values((
            privacy_consents::member_id.eq(member_id),
            privacy_consents::version.eq(version),
            privacy_consents::granted.eq(granted),
            privacy_consents::ip.eq(ip),
        ))
        .execute(conn)
        .map(drop)
}
