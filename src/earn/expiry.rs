//! Points lapsing: the nightly move of expired lots to breakage, and the
//! reminders members get before it happens.
//!
//! **Expiry.** A lot past its expiry moves what is left of it `member:c:P →
//! program:P:breakage` (kind `expire`, key `expire:lot:{id}:{remaining}` — the
//! remaining count only falls, so each partial expiry has its own key). Only a
//! lot's unreserved points expire: the points a pending hold reserved of it
//! (`lot`) are either spent when the hold is posted or expire when it is voided,
//! in the void's transaction (`held::voiding`). Expired ALP also releases the
//! CNY held against it as house revenue (`house:alp → house:fees`, at the
//! current issue price, rounded down). Lots are taken `FOR UPDATE SKIP LOCKED`,
//! so several processes share the work, and a pass books its entries in one
//! ledger batch (one sorted set of balance-row locks, see `lot`'s lock order).
//!
//! **Reminders.** A member with an email address and points lapsing within
//! `REMINDER_DAYS` gets one email listing them; a program is left out if the
//! member was reminded about it in the last `REMINDER_GAP_DAYS`. The reminder is
//! recorded before the email goes out: a failed send means one missed reminder,
//! never two.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Text, Timestamptz},
};

use crate::{
    chart::{self, CNY, HouseAccount},
    db::{self, PgPool, schema::expiry_reminders},
    domain::{
        id::MemberId,
        money::{Money, Rounding},
        points::ProgramCode,
    },
    email::{ExpiringPoints, ExpiryReminderEmail, Mailbox, Mailer},
    ledger::{self, EntryError, EntryRequest, LedgerError, TransferRequest},
    people::member,
    program::{self, Program},
};

use super::{hub, lot};

pub const REMINDER_DAYS: i64 = 15;
pub const REMINDER_GAP_DAYS: i64 = 7;
/// "reminder" in ASCII: the advisory lock of a reminder pass, so two processes
/// never pick the same reminders.
const REMINDER_PASS_LOCK: i64 = 0x7265_6d69_6e64_6572;

#[derive(Debug, thiserror::Error)]
pub enum ExpiryError {
    #[error("the ledger refused {entry}: {error}")]
    Refused { entry: String, error: EntryError },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Expires lots due at `at`, up to `batch` of them in one transaction. Returns
/// how many lots it expired points from.
#[tracing::instrument(skip_all)]
pub fn expire_due(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    batch: i64,
) -> Result<usize, ExpiryError> {
    conn.transaction(|conn| {
        let mut entries = Vec::new();
        for lot in lot::due(conn, at, batch)? {
            entries.push(lapse(conn, &lot)?);
        }
        let results = ledger::submit(conn, &entries)?;
        for (entry, result) in entries.iter().zip(results) {
            if let Err(error) = result {
                return Err(ExpiryError::Refused {
                    entry: entry.idempotency_key.clone(),
                    error,
                });
            }
        }
        Ok(entries.len())
    })
}

/// The entry expiring what is unreserved of a lapsed lot, with the lot
/// brought down to what stays reserved. Call with the lot locked, and submit
/// the entry in the same transaction.
pub(super) fn lapse(conn: &mut PgConnection, lot: &lot::Lot) -> Result<EntryRequest, ExpiryError> {
    let points = lot.unreserved();
    let program = &lot.program_code;
    let wallet = chart::open(conn, &chart::member_wallet(lot.member_id, program))?;
    let breakage = chart::open(conn, &chart::program_breakage(program))?;
    let mut entry = EntryRequest::new(format!("expire:lot:{}:{}", lot.id, lot.remaining), "expire")
        .metadata(serde_json::json!({
            "lot_id": lot.id,
            "member_id": lot.member_id,
            "expires_at": lot.expires_at,
            "points": points,
        }))
        .transfer(TransferRequest::move_(
            wallet,
            breakage,
            program.as_str(),
            points,
        ));
    if *program == ProgramCode::alp() {
        let released = hub::policy(conn)?
            .issue_price
            .value_of(points, Rounding::Down)
            .map_or(0, Money::fen);
        if released > 0 {
            let house = chart::ensure_house_accounts(conn)?;
            entry = entry.transfer(TransferRequest::move_(
                house.id(HouseAccount::Alp),
                house.id(HouseAccount::Fees),
                CNY,
                released,
            ));
        }
    }
    lot::set_remaining(conn, lot.id, lot.reserved)?;
    Ok(entry)
}

/// Points of one program lapsing soon for one member.
#[derive(Debug, Clone, QueryableByName)]
struct Due {
    #[diesel(sql_type = BigInt)]
    member_id: MemberId,
    #[diesel(sql_type = Text)]
    program_code: String,
    #[diesel(sql_type = BigInt)]
    points: i64,
    #[diesel(sql_type = Timestamptz)]
    first_expiry: DateTime<Utc>,
}

/// Emails the members with points lapsing within `REMINDER_DAYS` of `at`. Returns
/// how many emails went out; skips the pass while another process runs one. Its
/// database work blocks between the awaits: run it on a blocking thread, as the
/// job does.
#[tracing::instrument(skip_all)]
pub async fn send_reminders(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut conn = pool.get()?;
    if !db::try_advisory_lock(&mut conn, REMINDER_PASS_LOCK)? {
        return Ok(0);
    }
    let pass = remind(&mut conn, mailer, public_url, at).await;
    db::advisory_unlock(&mut conn, REMINDER_PASS_LOCK)?;
    pass
}

async fn remind(
    conn: &mut PgConnection,
    mailer: &Mailer,
    public_url: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let due: Vec<Due> = diesel::sql_query(
        "SELECT l.member_id, l.program_code, sum(l.remaining)::bigint AS points, \
                min(l.expires_at) AS first_expiry \
           FROM point_lots l \
           JOIN members m ON m.id = l.member_id \
          WHERE l.remaining > 0 AND l.expires_at > $1 AND l.expires_at <= $2 \
            AND m.email IS NOT NULL \
            AND NOT EXISTS (SELECT 1 FROM expiry_reminders r \
                             WHERE r.member_id = l.member_id AND r.program_code = l.program_code \
                               AND r.sent_at > $3) \
          GROUP BY l.member_id, l.program_code \
          ORDER BY l.member_id, first_expiry",
    )
    .bind::<Timestamptz, _>(at)
    .bind::<Timestamptz, _>(at + Duration::days(REMINDER_DAYS))
    .bind::<Timestamptz, _>(at - Duration::days(REMINDER_GAP_DAYS))
    .load(conn)?;

    let programs: HashMap<String, Program> = program::all(conn)?
        .into_iter()
        .map(|p| (p.code.clone(), p))
        .collect();
    let mut sent = 0;
    for group in due.chunk_by(|a, b| a.member_id == b.member_id) {
        let member_id = group[0].member_id;
        let Some(member) = member::find(conn, member_id)? else {
            continue;
        };
        let Some(address) = member.mail_address() else {
            continue;
        };
        let locale = member.locale();
        // Recorded first: a reminder is never sent twice, at worst missed once.
        conn.transaction(|conn| {
            for line in group {
                diesel::insert_into(expiry_reminders::table)
                    .values((
                        expiry_reminders::member_id.eq(line.member_id),
                        expiry_reminders::program_code.eq(&line.program_code),
                        expiry_reminders::points.eq(line.points),
                        expiry_reminders::expires_at.eq(line.first_expiry),
                        expiry_reminders::sent_at.eq(at),
                    ))
                    .execute(conn)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        let email = ExpiryReminderEmail {
            display_name: member.display_name.clone(),
            lines: group
                .iter()
                .map(|line| ExpiringPoints {
                    program: programs.get(&line.program_code).map_or_else(
                        || locale.t("earn.alp_name").into_owned(),
                        |p| p.name(locale).to_owned(),
                    ),
                    points: line.points,
                    expires_at: line.first_expiry,
                })
                .collect(),
            points_url: format!("{public_url}/consumer"),
        };
        let to = Mailbox::new(Some(member.display_name.clone()), address);
        if mailer.send(&to, &email, locale).await.is_ok() {
            sent += 1;
        }
    }
    Ok(sent)
}
