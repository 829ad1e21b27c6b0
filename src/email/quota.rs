//! How much mail anonymous visitors can make us send (password resets, merchant
//! applications): a few an hour to one recipient, and a few more from one
//! source address, so nobody can flood a mailbox or use us to spam. The visitor
//! is answered the same either way, so the limit reveals nothing about accounts.
//! Recipients are counted by a keyed blind index, never stored in the clear.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::{
    crypto::Keys,
    db::{advisory_xact_lock, schema::mail_sends},
};

/// Mails to one recipient per hour.
const PER_RECIPIENT: i64 = 3;
/// Mails caused from one source address per hour.
const PER_SOURCE: i64 = 10;

/// Records a mail to `recipient` caused from `ip` and returns true, or returns
/// false (recording nothing) when either has had its share this hour.
pub fn admit(conn: &mut PgConnection, keys: &Keys, recipient: &str, ip: &str) -> QueryResult<bool> {
    let index = keys.blind_index("mail_sends.recipient", &recipient.to_lowercase());
    conn.transaction(|conn| {
        // Parallel requests must not all slip under the limit: count and record
        // under a lock per recipient, then per address (always in that order).
        advisory_xact_lock(conn, &format!("mail:{}", hex::encode(index)))?;
        advisory_xact_lock(conn, &format!("mail-ip:{ip}"))?;
        let since = Utc::now() - Duration::hours(1);
        let recent = mail_sends::table.filter(mail_sends::at.gt(since));
        let to_recipient: i64 = recent
            .filter(mail_sends::recipient_index.eq(&index[..]))
            .count()
            .get_result(conn)?;
        let from_source: i64 = recent
            .filter(mail_sends::ip.eq(ip))
            .count()
            .get_result(conn)?;
        if to_recipient >= PER_RECIPIENT || from_source >= PER_SOURCE {
            return Ok(false);
        }
        diesel::insert_into(mail_sends::table)
            .values((
                mail_sends::recipient_index.eq(&index[..]),
                mail_sends::ip.eq(ip),
            ))
            .execute(conn)?;
        Ok(true)
    })
}
