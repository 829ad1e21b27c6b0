//! How to reach a merchant's contact person, kept encrypted at rest like
//! members' numbers: an applicant's phone and email on the application, and
//! the phone on the merchant the application becomes. (The merchant's contact
//! email is its owner's sign-in address, which `merchant_users` keeps in the
//! clear to find the account, so it stays readable on `merchants` too.)
//!
//! The phone is sealed under one name in both tables, so onboarding moves the
//! ciphertext as it is. Rows written before encryption are sealed by
//! [`seal_plaintext`] at start-up; until then readers fall back to the
//! plaintext column.

use diesel::prelude::*;

use crate::{
    crypto::Keys,
    db::schema::{merchant_applications, merchants},
    domain::id::MerchantId,
};

const PHONE_AAD: &[u8] = b"merchant.contact_phone";
const EMAIL_AAD: &[u8] = b"merchant_applications.contact_email";
/// Rows sealed per statement, so a big backlog never holds a long lock.
const SEAL_BATCH: i64 = 500;

pub fn seal_phone(keys: &Keys, phone: &str) -> Vec<u8> {
    keys.encrypt(phone.as_bytes(), PHONE_AAD)
}

pub fn seal_email(keys: &Keys, email: &str) -> Vec<u8> {
    keys.encrypt(email.as_bytes(), EMAIL_AAD)
}

pub fn open_phone(keys: &Keys, sealed: Option<&[u8]>, legacy: Option<&str>) -> Option<String> {
    open(keys, sealed, legacy, PHONE_AAD)
}

pub fn open_email(keys: &Keys, sealed: Option<&[u8]>, legacy: Option<&str>) -> Option<String> {
    open(keys, sealed, legacy, EMAIL_AAD)
}

/// The sealed value, else the plaintext a row not yet sealed still holds.
fn open(keys: &Keys, sealed: Option<&[u8]>, legacy: Option<&str>, aad: &[u8]) -> Option<String> {
    match sealed {
        Some(sealed) => keys
            .decrypt(sealed, aad)
            .ok()
            .and_then(|plain| String::from_utf8(plain).ok()),
        None => legacy.map(str::to_owned),
    }
}

/// Seals every contact still in plaintext and empties the plaintext; returns
/// how many rows it sealed. Idempotent, and safe beside requests: each row is
/// sealed by one `UPDATE … WHERE` the plaintext is still there.
#[tracing::instrument(skip_all)]
pub fn seal_plaintext(conn: &mut PgConnection, keys: &Keys) -> QueryResult<usize> {
    let mut sealed = 0;
    loop {
        let applications: Vec<(i64, Option<String>, Option<String>)> = merchant_applications::table
            .filter(
                merchant_applications::contact_phone
                    .is_not_null()
                    .or(merchant_applications::contact_email.is_not_null()),
            )
            .select((
                merchant_applications::id,
                merchant_applications::contact_phone,
                merchant_applications::contact_email,
            ))
            .limit(SEAL_BATCH)
            .load(conn)?;
        let merchants_: Vec<(MerchantId, String)> = merchants::table
            .filter(merchants::contact_phone.is_not_null())
            .select((merchants::id, merchants::contact_phone.assume_not_null()))
            .limit(SEAL_BATCH)
            .load(conn)?;
        if applications.is_empty() && merchants_.is_empty() {
            return Ok(sealed);
        }
        for (id, phone, email) in applications {
            let row = merchant_applications::table.find(id);
            if let Some(phone) = phone {
                sealed +=
                    diesel::update(row.filter(merchant_applications::contact_phone.eq(&phone)))
                        .set((
                            merchant_applications::contact_phone_ciphertext
                                .eq(seal_phone(keys, &phone)),
                            merchant_applications::contact_phone.eq(None::<String>),
                        ))
                        .execute(conn)?;
            }
            if let Some(email) = email {
                sealed +=
                    diesel::update(row.filter(merchant_applications::contact_email.eq(&email)))
                        .set((
                            merchant_applications::contact_email_ciphertext
                                .eq(seal_email(keys, &email)),
                            merchant_applications::contact_email.eq(None::<String>),
                        ))
                        .execute(conn)?;
            }
        }
        for (id, phone) in merchants_ {
            sealed += diesel::update(
                merchants::table
                    .find(id)
                    .filter(merchants::contact_phone.eq(&phone)),
            )
            .set((
                merchants::contact_phone_ciphertext.eq(seal_phone(keys, &phone)),
                merchants::contact_phone.eq(None::<String>),
            ))
            .execute(conn)?;
        }
    }
}
