//! One-time SMS codes that prove a person holds a mobile number (issue #17:
//! without them anyone could sign up with a stranger's number and collect the
//! points partners later credit to it).
//!
//! A code is six digits from the OS random source, stored only as an HMAC
//! under the application's keys, bound to the number's blind index and to
//! what it is for ([`Purpose`]). It works for 5 minutes, once, and for at
//! most 5 guesses: each guess takes one attempt in a single
//! `UPDATE … WHERE attempts < 5 RETURNING`, so parallel guesses queue on the
//! row and no more than 5 are ever compared. Only the newest code of a number
//! and purpose counts.
//!
//! Sending is limited: one message per number and flow per minute, 5 per
//! number per hour, 20 per client address per hour. Every message counts,
//! including those that carry no code ("you already have an account"), so the
//! limits do not tell registered numbers apart either.
//!
//! What a flow sends depends on the number's account, but the page that asked
//! never shows it: the answer there is the same for every number.

use chrono::{DateTime, Duration, Utc};
use diesel::{dsl::count_star, prelude::*};

use crate::{
    clock,
    crypto::{self, Keys},
    db::{
        self,
        schema::{members, phone_codes},
    },
    domain::{id::MemberId, phone::Phone},
};

use super::credentials::phone_index;

/// How long a code works.
pub const CODE_VALIDITY: Duration = Duration::minutes(5);
/// Wrong guesses a code survives; the next guess finds it spent.
pub const MAX_ATTEMPTS: i32 = 5;
/// The wait between two messages to one number for one flow.
pub const RESEND_COOLDOWN: Duration = Duration::seconds(60);
/// Messages one number receives per hour, across flows.
pub const MAX_PER_NUMBER_PER_HOUR: i64 = 5;
/// Messages one client address may have sent per hour, across numbers.
pub const MAX_PER_IP_PER_HOUR: i64 = 20;

/// What a code proves the number for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Joining with a number that has no account.
    SignUp,
    /// Taking over the account a partner enrolled the number into.
    Claim,
    /// Signing in without a password.
    SignIn,
    /// Choosing a new password.
    Reset,
    /// A signed-in member proving the number on their account.
    Verify,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::Claim => "claim",
            Self::SignIn => "sign_in",
            Self::Reset => "reset",
            Self::Verify => "verify",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        [
            Self::SignUp,
            Self::Claim,
            Self::SignIn,
            Self::Reset,
            Self::Verify,
        ]
        .into_iter()
        .find(|p| p.as_str() == stored)
    }
}

/// What the person asked for on a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The sign-up page: a sign-up code, or a claim code for a number a partner
    /// enrolled, or word that the number already has an account.
    Join,
    SignIn,
    Reset,
    /// The signed-in member's own number.
    Verify,
}

impl Flow {
    /// The purposes this flow's codes may have: what a code typed on the
    /// flow's page is checked against.
    pub fn purposes(self) -> &'static [Purpose] {
        match self {
            Self::Join => &[Purpose::SignUp, Purpose::Claim],
            Self::SignIn => &[Purpose::SignIn],
            Self::Reset => &[Purpose::Reset],
            Self::Verify => &[Purpose::Verify],
        }
    }
}

/// The message to send; the caller sends it and shows the same page whichever
/// it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Code {
        purpose: Purpose,
        code: String,
    },
    /// Sign-up for a number that already has an account.
    AccountExists,
    /// Sign-in or reset for a number without a (claimed) account.
    NoAccount,
}

/// Why no message was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefused {
    /// Too soon after the last message to this number for this flow.
    Cooldown { retry_in_seconds: i64 },
    /// The number had its hourly share of messages.
    NumberLimit,
    /// The client address had its hourly share of messages.
    IpLimit,
}

/// Why a code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefused {
    /// Wrong, expired, already used, or never sent: one answer for all, so a
    /// guesser learns nothing.
    #[error("the code is wrong or has expired")]
    Invalid,
    /// Too many wrong guesses: only a new code helps.
    #[error("too many wrong codes")]
    Exhausted,
}

/// The account a number belongs to, as the flows see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub member_id: MemberId,
    /// False for a member a partner enrolled who has neither a password nor a
    /// proven number: nobody has taken the account over yet.
    pub claimed: bool,
}

pub fn account(
    conn: &mut PgConnection,
    keys: &Keys,
    phone: &Phone,
) -> QueryResult<Option<Account>> {
    let found: Option<(MemberId, bool)> = members::table
        .filter(members::phone_index.eq(&phone_index(keys, phone)[..]))
        .select((
            members::id,
            members::password_hash
                .is_not_null()
                .or(members::phone_verified_at.is_not_null()),
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(|(member_id, claimed)| Account { member_id, claimed }))
}

/// Decides what to send for `flow` to `phone` and records it, within the
/// sending limits. The caller sends the message.
#[tracing::instrument(skip_all)]
pub fn request(
    conn: &mut PgConnection,
    keys: &Keys,
    phone: &Phone,
    flow: Flow,
    ip: &str,
) -> QueryResult<Result<Outgoing, SendRefused>> {
    let index = phone_index(keys, phone);
    conn.transaction(|conn| {
        // Two requests for one number (or from one address) take turns, so
        // neither can slip past a limit the other is about to reach. Always
        // number first, then address: no two requests wait on each other.
        db::advisory_xact_lock(conn, &format!("phone-code:{}", hex::encode(index)))?;
        db::advisory_xact_lock(conn, &format!("phone-code-ip:{ip}"))?;
        if let Some(refused) = limits(conn, &index, flow, ip)? {
            return Ok(Err(refused));
        }
        let account = account(conn, keys, phone)?;
        let outgoing = match (flow, account) {
            (Flow::Join, None) => code(Purpose::SignUp),
            (Flow::Join, Some(a)) if !a.claimed => code(Purpose::Claim),
            (Flow::Join, Some(_)) => Outgoing::AccountExists,
            (Flow::SignIn, Some(a)) if a.claimed => code(Purpose::SignIn),
            (Flow::Reset, Some(a)) if a.claimed => code(Purpose::Reset),
            (Flow::SignIn | Flow::Reset, _) => Outgoing::NoAccount,
            (Flow::Verify, _) => code(Purpose::Verify),
        };
        // A message without a code still takes a row (for the limits), with
        // the MAC of a code nobody was sent.
        let (purpose, sent_code) = match &outgoing {
            Outgoing::Code { purpose, code } => (*purpose, code.clone()),
            _ => (flow.purposes()[0], crypto::random_token()),
        };
        let now = clock::now();
        diesel::insert_into(phone_codes::table)
            .values((
                phone_codes::phone_index.eq(&index[..]),
                phone_codes::purpose.eq(purpose.as_str()),
                phone_codes::code_mac.eq(&mac(keys, &index, purpose, &sent_code)[..]),
                phone_codes::ip.eq(ip),
                phone_codes::created_at.eq(now),
                phone_codes::expires_at.eq(now + CODE_VALIDITY),
            ))
            .execute(conn)?;
        Ok(Ok(outgoing))
    })
}

fn code(purpose: Purpose) -> Outgoing {
    Outgoing::Code {
        purpose,
        code: crypto::random_code(),
    }
}

fn limits(
    conn: &mut PgConnection,
    index: &[u8; 32],
    flow: Flow,
    ip: &str,
) -> QueryResult<Option<SendRefused>> {
    let now = clock::now();
    let purposes: Vec<&str> = flow.purposes().iter().map(|p| p.as_str()).collect();
    let last: Option<DateTime<Utc>> = phone_codes::table
        .filter(phone_codes::phone_index.eq(&index[..]))
        .filter(phone_codes::purpose.eq_any(&purposes))
        .select(diesel::dsl::max(phone_codes::created_at))
        .first(conn)?;
    if let Some(last) = last {
        let wait = (last + RESEND_COOLDOWN - now).num_seconds();
        if wait > 0 {
            return Ok(Some(SendRefused::Cooldown {
                retry_in_seconds: wait,
            }));
        }
    }
    let hour_ago = now - Duration::hours(1);
    let to_number: i64 = phone_codes::table
        .filter(phone_codes::phone_index.eq(&index[..]))
        .filter(phone_codes::created_at.gt(hour_ago))
        .select(count_star())
        .first(conn)?;
    if to_number >= MAX_PER_NUMBER_PER_HOUR {
        return Ok(Some(SendRefused::NumberLimit));
    }
    let from_ip: i64 = phone_codes::table
        .filter(phone_codes::ip.eq(ip))
        .filter(phone_codes::created_at.gt(hour_ago))
        .select(count_star())
        .first(conn)?;
    Ok((from_ip >= MAX_PER_IP_PER_HOUR).then_some(SendRefused::IpLimit))
}

/// The stored form of a code: keyed, and bound to the number and purpose, so a
/// database dump cannot be brute-forced and a code for one thing proves
/// nothing else.
fn mac(keys: &Keys, index: &[u8; 32], purpose: Purpose, code: &str) -> [u8; 32] {
    keys.blind_index(
        "phone_codes.code",
        &format!("{}:{}:{code}", hex::encode(index), purpose.as_str()),
    )
}

/// Checks `code` against the newest code sent to `phone` for `flow` and, if
/// it matches, uses it up and runs `then` with its purpose — in one
/// transaction, so a failing `then` leaves the code unused. A refused code
/// still commits its attempt.
#[tracing::instrument(skip_all)]
pub fn redeem<T, E>(
    conn: &mut PgConnection,
    keys: &Keys,
    phone: &Phone,
    flow: Flow,
    code: &str,
    then: impl FnOnce(&mut PgConnection, Purpose) -> Result<T, E>,
) -> Result<Result<T, CodeRefused>, E>
where
    E: From<diesel::result::Error>,
{
    let index = phone_index(keys, phone);
    conn.transaction(|conn| match check(conn, keys, &index, flow, code)? {
        Ok(purpose) => then(conn, purpose).map(Ok),
        Err(refused) => Ok(Err(refused)),
    })
}

fn check(
    conn: &mut PgConnection,
    keys: &Keys,
    index: &[u8; 32],
    flow: Flow,
    code: &str,
) -> QueryResult<Result<Purpose, CodeRefused>> {
    let purposes: Vec<&str> = flow.purposes().iter().map(|p| p.as_str()).collect();
    let newest = phone_codes::table
        .filter(phone_codes::phone_index.eq(&index[..]))
        .filter(phone_codes::purpose.eq_any(purposes))
        .order((phone_codes::created_at.desc(), phone_codes::id.desc()))
        .select(phone_codes::id)
        .first::<i64>(conn)
        .optional()?;
    let Some(id) = newest else {
        return Ok(Err(CodeRefused::Invalid));
    };
    // Takes the attempt before comparing: under the row lock this UPDATE
    // takes, concurrent guesses see each other's attempts.
    let taken: Option<(String, Vec<u8>)> = diesel::update(
        phone_codes::table
            .find(id)
            .filter(phone_codes::consumed_at.is_null())
            .filter(phone_codes::expires_at.gt(clock::now()))
            .filter(phone_codes::attempts.lt(MAX_ATTEMPTS)),
    )
    .set(phone_codes::attempts.eq(phone_codes::attempts + 1))
    .returning((phone_codes::purpose, phone_codes::code_mac))
    .get_result(conn)
    .optional()?;
    let Some((purpose, stored)) = taken else {
        let attempts: i32 = phone_codes::table
            .find(id)
            .select(phone_codes::attempts)
            .first(conn)?;
        return Ok(Err(if attempts >= MAX_ATTEMPTS {
            CodeRefused::Exhausted
        } else {
            CodeRefused::Invalid
        }));
    };
    let Some(purpose) = Purpose::parse(&purpose) else {
        return Ok(Err(CodeRefused::Invalid));
    };
    let code = code.trim();
    if !crypto::constant_time_eq(&mac(keys, index, purpose, code), &stored) {
        return Ok(Err(CodeRefused::Invalid));
    }
    diesel::update(phone_codes::table.find(id))
        .set(phone_codes::consumed_at.eq(clock::now()))
        .execute(conn)?;
    Ok(Ok(purpose))
}
