//! Operators' second factor: a TOTP authenticator (RFC 6238, through `totp-rs`)
//! and ten single-use recovery codes. Admins and finance must have one (OWASP
//! ASVS L2); other operators may. The secret is encrypted at rest, bound to its
//! row; a code's time step is remembered so the same code cannot sign in twice.

use chrono::Utc;
use diesel::prelude::*;
use totp_rs::{Builder, Secret, Totp};

use crate::{
    audit::{self, Change},
    crypto::{self, CryptoError, Keys},
    db::schema::{operator_recovery_codes, operator_second_factors},
    domain::{actor::Actor, portal::Portal},
    error::{Class, Classify, Kind, Message, Refusal},
};

use super::{
    operator::{Operator, OperatorRole},
    throttle,
};

/// Who may not sign in without a second factor.
pub const REQUIRED_FOR: [OperatorRole; 2] = [OperatorRole::Admin, OperatorRole::Finance];
/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;
/// The name authenticator apps show beside the codes.
const ISSUER: &str = "Alliance";

pub fn required(role: OperatorRole) -> bool {
    REQUIRED_FOR.contains(&role)
}

#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error("the code is not right, or was used already")]
    WrongCode,
    #[error("no second factor is being set up")]
    NotEnrolling,
    #[error("the second factor is set up already")]
    AlreadyActive,
    #[error("too many attempts")]
    Throttled,
    #[error("stored second-factor secret cannot be read: {0}")]
    Crypto(#[from] CryptoError),
    #[error("stored second-factor secret is not valid: {0}")]
    Secret(#[from] totp_rs::TotpError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for FactorError {
    /// Whatever kept a code from being taken (wrong, used, no setup under way
    /// or one finished in another tab), the page says the code was not right;
    /// too many attempts say so. A secret that cannot be read is the system's.
    fn class(&self) -> Class {
        use Kind::{Conflict, Unprocessable};
        let (kind, slug, key) = match self {
            Self::WrongCode => (
                Unprocessable,
                "wrong_code",
                "second_factor.error.wrong_code",
            ),
            Self::NotEnrolling => (Conflict, "not_enrolling", "second_factor.error.wrong_code"),
            Self::AlreadyActive => (Conflict, "already_active", "second_factor.error.wrong_code"),
            Self::Throttled => (Conflict, "throttled", "auth.error.throttled"),
            Self::Crypto(_) | Self::Secret(_) | Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, slug, Message::new(key)))
    }
}

/// What follows a right password for an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// No second factor, and none required: signed in.
    SignedIn,
    /// A code from the authenticator (or a recovery code).
    Challenge,
    /// A second factor must be set up before anything else.
    Enrol,
}

pub fn next_step(conn: &mut PgConnection, operator_id: i64) -> QueryResult<NextStep> {
    let operator =
        super::operator::find(conn, operator_id)?.ok_or(diesel::result::Error::NotFound)?;
    Ok(if is_active(conn, operator.id)? {
        NextStep::Challenge
    } else if required(operator.role) {
        NextStep::Enrol
    } else {
        NextStep::SignedIn
    })
}

/// Runs a code check throttled like a password: per operator and address,
/// counted before the check.
pub fn throttled<T>(
    conn: &mut PgConnection,
    operator_id: i64,
    ip: &str,
    check: impl FnOnce(&mut PgConnection) -> Result<T, FactorError>,
) -> Result<T, FactorError> {
    let key = format!("second-factor:{operator_id}");
    let admission =
        throttle::admit(conn, Portal::Platform, &key, ip)?.map_err(|_| FactorError::Throttled)?;
    let done = check(conn)?;
    throttle::succeeded(conn, admission.attempt_id)?;
    Ok(done)
}

/// Whether an operator has a confirmed second factor.
pub fn is_active(conn: &mut PgConnection, operator_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        operator_second_factors::table
            .find(operator_id)
            .filter(operator_second_factors::confirmed_at.is_not_null()),
    ))
    .get_result(conn)
}

/// What the enrolment page shows: the key to type in, and the `otpauth://` URL
/// its QR code carries.
#[derive(Debug)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
}

/// The secret being set up, created on first call; the same until confirmed, so
/// reloading the page does not invalidate a QR code already scanned.
#[tracing::instrument(skip_all)]
pub fn enrolment(
    conn: &mut PgConnection,
    keys: &Keys,
    operator: &Operator,
) -> Result<Enrolment, FactorError> {
    conn.transaction(|conn| {
        let stored: Option<(Vec<u8>, bool)> = operator_second_factors::table
            .find(operator.id)
            .select((
                operator_second_factors::secret_ciphertext,
                operator_second_factors::confirmed_at.is_not_null(),
            ))
            .for_update()
            .first(conn)
            .optional()?;
        let secret = match stored {
            Some((_, true)) => return Err(FactorError::AlreadyActive),
            Some((sealed, false)) => keys.decrypt(&sealed, &aad(operator.id))?,
            None => {
                let secret = crypto::random_otp_secret().to_vec();
                diesel::insert_into(operator_second_factors::table)
                    .values((
                        operator_second_factors::operator_id.eq(operator.id),
                        operator_second_factors::secret_ciphertext
                            .eq(keys.encrypt(&secret, &aad(operator.id))),
                    ))
                    .execute(conn)?;
                secret
            }
        };
        let totp = totp(secret, &operator.email)?;
        Ok(Enrolment {
            secret_base32: totp.secret().to_base32(),
            otpauth_url: totp.to_url()?,
        })
    })
}

/// Confirms the factor being set up with a first code from the app; returns
/// the recovery codes, to show this once.
#[tracing::instrument(skip_all)]
pub fn confirm(
    conn: &mut PgConnection,
    keys: &Keys,
    operator: &Operator,
    code: &str,
) -> Result<Vec<String>, FactorError> {
    conn.transaction(|conn| {
        let (step, confirmed) = check_code(conn, keys, operator, code)?;
        if confirmed {
            return Err(FactorError::AlreadyActive);
        }
        diesel::update(operator_second_factors::table.find(operator.id))
            .set((
                operator_second_factors::confirmed_at.eq(Utc::now()),
                operator_second_factors::last_step.eq(step),
            ))
            .execute(conn)?;
        let codes = replace_recovery_codes(conn, operator.id)?;
        audit::record(
            conn,
            &operator.actor(None),
            Change::new("operator.second_factor_enrol", "operator", operator.id),
        )?;
        Ok(codes)
    })
}

/// The second step of signing in: a current code from the app, or an unused
/// recovery code (spent by this).
#[tracing::instrument(skip_all)]
pub fn verify(
    conn: &mut PgConnection,
    keys: &Keys,
    operator: &Operator,
    code: &str,
) -> Result<(), FactorError> {
    conn.transaction(|conn| {
        if spend_recovery_code(conn, operator.id, code)? {
            return Ok(());
        }
        let (step, confirmed) = check_code(conn, keys, operator, code)?;
        if !confirmed {
            return Err(FactorError::NotEnrolling);
        }
        diesel::update(operator_second_factors::table.find(operator.id))
            .set(operator_second_factors::last_step.eq(step))
            .execute(conn)
            .map(drop)
            .map_err(FactorError::from)
    })
}

/// Removes an operator's second factor and recovery codes (a lost phone); they
/// set up a new one at their next sign-in. Audited as `actor`.
#[tracing::instrument(skip_all, fields(operator_id = operator_id))]
pub fn reset(conn: &mut PgConnection, actor: &Actor, operator_id: i64) -> QueryResult<bool> {
    conn.transaction(|conn| {
        diesel::delete(
            operator_recovery_codes::table
                .filter(operator_recovery_codes::operator_id.eq(operator_id)),
        )
        .execute(conn)?;
        let removed =
            diesel::delete(operator_second_factors::table.find(operator_id)).execute(conn)? == 1;
        audit::record(
            conn,
            actor,
            Change::new("operator.second_factor_reset", "operator", operator_id)
                .after(serde_json::json!({ "had_factor": removed })),
        )?;
        Ok(removed)
    })
}

/// A code the operator's authenticator would show, for a tool that signs in
/// as them with the server's keys (`alliance bench pages`) as their phone
/// would.
#[derive(Debug)]
pub struct NextCode {
    pub code: String,
    /// The Unix second from which the server takes it (one step of skew
    /// before its own): a code of a step already used is refused, so it may
    /// lie up to a step ahead.
    pub usable_from: u64,
}

/// The code of the first time step not used yet, for the factor the operator
/// has or is setting up; None when they have none.
pub fn next_code(
    conn: &mut PgConnection,
    keys: &Keys,
    operator: &Operator,
    now: u64,
) -> Result<Option<NextCode>, FactorError> {
    let stored: Option<(Vec<u8>, Option<i64>)> = operator_second_factors::table
        .find(operator.id)
        .select((
            operator_second_factors::secret_ciphertext,
            operator_second_factors::last_step,
        ))
        .first(conn)
        .optional()?;
    let Some((sealed, last_step)) = stored else {
        return Ok(None);
    };
    let totp = totp(keys.decrypt(&sealed, &aad(operator.id))?, &operator.email)?;
    let unused = last_step.map_or(0, |last| u64::try_from(last).unwrap_or(0) + 1);
    let step = (now / totp.step()).max(unused);
    Ok(Some(NextCode {
        code: totp.generate(step * totp.step()).to_string(),
        usable_from: step.saturating_sub(u64::from(totp.skew())) * totp.step(),
    }))
}

/// The time step `code` is valid for, newer than any used before, and whether
/// the factor is confirmed. Locks the row, so two uses of one code race to one.
fn check_code(
    conn: &mut PgConnection,
    keys: &Keys,
    operator: &Operator,
    code: &str,
) -> Result<(i64, bool), FactorError> {
    let (sealed, last_step, confirmed): (Vec<u8>, Option<i64>, bool) =
        operator_second_factors::table
            .find(operator.id)
            .select((
                operator_second_factors::secret_ciphertext,
                operator_second_factors::last_step,
                operator_second_factors::confirmed_at.is_not_null(),
            ))
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(FactorError::NotEnrolling)?;
    let totp = totp(keys.decrypt(&sealed, &aad(operator.id))?, &operator.email)?;
    let step = totp
        .check_current(code.trim())
        .and_then(|step| i64::try_from(step).ok())
        .ok_or(FactorError::WrongCode)?;
    if last_step.is_some_and(|last| step <= last) {
        return Err(FactorError::WrongCode);
    }
    Ok((step, confirmed))
}

fn totp(secret: Vec<u8>, account: &str) -> Result<Totp, totp_rs::TotpError> {
    Builder::new()
        .with_secret(Secret::new(secret.into_boxed_slice()))
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
}

fn aad(operator_id: i64) -> Vec<u8> {
    format!("operator_second_factors.secret:{operator_id}").into_bytes()
}

/// Recovery codes as shown: 16 hex digits in groups of four (64 random bits).
fn new_recovery_code() -> String {
    let hex = crypto::random_hex_id();
    [&hex[0..4], &hex[4..8], &hex[8..12], &hex[12..16]].join("-")
}

/// What is stored of a code: the digest of its digits, however it was typed.
fn recovery_hash(code: &str) -> [u8; 32] {
    let digits: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    crypto::sha256(digits.as_bytes())
}

fn replace_recovery_codes(conn: &mut PgConnection, operator_id: i64) -> QueryResult<Vec<String>> {
    diesel::delete(
        operator_recovery_codes::table.filter(operator_recovery_codes::operator_id.eq(operator_id)),
    )
    .execute(conn)?;
    let codes: Vec<String> = std::iter::repeat_with(new_recovery_code)
        .take(RECOVERY_CODES)
        .collect();
    let rows: Vec<_> = codes
        .iter()
        .map(|code| {
            (
                operator_recovery_codes::code_hash.eq(recovery_hash(code).to_vec()),
                operator_recovery_codes::operator_id.eq(operator_id),
            )
        })
        .collect();
    diesel::insert_into(operator_recovery_codes::table)
        .values(&rows)
        .execute(conn)?;
    Ok(codes)
}

/// Spends `code` if it is one of the operator's unused recovery codes.
fn spend_recovery_code(conn: &mut PgConnection, operator_id: i64, code: &str) -> QueryResult<bool> {
    let spent = diesel::update(
        operator_recovery_codes::table
            .find(recovery_hash(code).to_vec())
            .filter(operator_recovery_codes::operator_id.eq(operator_id))
            .filter(operator_recovery_codes::used_at.is_null()),
    )
    .set(operator_recovery_codes::used_at.eq(Utc::now()))
    .execute(conn)?;
    Ok(spent == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_match_however_they_are_typed() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 19);
        assert_eq!(
            recovery_hash(&code),
            recovery_hash(&code.to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(&code), recovery_hash(&new_recovery_code()));
    }
}
