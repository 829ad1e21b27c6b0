//! Signed webhooks to merchants (API.md: settlement ready, payout sent, deposit
//! low). An event is written to the `webhook_deliveries` outbox in the same
//! transaction as the change it reports, so it is sent if and only if the change
//! committed; delivery and retries happen later, outside that transaction.
//!
//! Delivery (`deliver_due`, a job every 30 s): a POST of
//! `{"event", "id", "created_at", "data"}` to the merchant's URL, signed with its
//! webhook secret like a partner-API request, plus `X-Alliance-Event`. A 2xx
//! answer delivers it; anything else is retried with back-off (30 s doubling,
//! at most 6 h) and given up after 12 attempts. A merchant without a URL or a
//! secret gets nothing; its deliveries wait, looked at again hourly without
//! using up attempts, so they go once it sets both up. A URL whose host is not
//! public is refused at every attempt (see `target`).

pub mod endpoint;
pub mod target;

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Bytea, Integer, Jsonb, Nullable, Text, Timestamptz},
};
use serde_json::json;
use url::Url;

use crate::{
    crypto::{self, Keys},
    db::{PgPool, schema::webhook_deliveries},
    domain::id::MerchantId,
};

pub use target::Policy;

/// Queues `event` about `subject` (e.g. `settlement.ready` of `statement:7`) for
/// the merchant; queuing the same event about the same subject again is a no-op.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn enqueue(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    event: &str,
    subject: &str,
    payload: &serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::merchant_id.eq(merchant_id),
            webhook_deliveries::event.eq(event),
            webhook_deliveries::subject.eq(subject),
            webhook_deliveries::payload.eq(payload),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

/// Deliveries sent per pass; the rest wait for the next pass (every 30 s).
const BATCH: i64 = 20;
/// After this many failed attempts a delivery is given up: it stays in the table,
/// undelivered, with its last error, for an operator to look at.
pub const MAX_ATTEMPTS: i32 = 12;
/// A claimed delivery is not due again for this long, so a process that dies
/// while sending leaves it to be retried, not lost; longer than any send takes.
const CLAIM_SECONDS: i32 = 300;
/// How long to wait for the merchant's server.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The first retry comes after this; each later one waits twice as long...
const FIRST_RETRY_SECONDS: i64 = 30;
/// ...up to this.
const MAX_RETRY_SECONDS: i64 = 6 * 3600;
/// With no URL or no secret nothing can be sent; look again after this, without
/// counting an attempt, so setting them up later delivers what was queued.
const NOT_SET_UP_RETRY_SECONDS: i64 = 3600;
/// Enough of a response or error to tell what went wrong.
const MAX_ERROR_CHARS: usize = 500;

/// A delivery claimed for sending, with where and how to send it.
#[derive(Debug, QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    event: String,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    webhook_url: Option<String>,
    #[diesel(sql_type = Nullable<Bytea>)]
    webhook_secret_ciphertext: Option<Vec<u8>>,
}

/// Claims up to `limit` due deliveries by moving their next attempt past the
/// claim period, in one short statement: the row locks (`SKIP LOCKED`, so two
/// processes take different rows) last only for it, never across an HTTP call.
fn claim(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "WITH due AS (
            SELECT id FROM webhook_deliveries
             WHERE delivered_at IS NULL AND attempts < $2 AND next_attempt_at <= now()
             ORDER BY next_attempt_at, id
             LIMIT $1
             FOR UPDATE SKIP LOCKED
         ), claimed AS (
            UPDATE webhook_deliveries d
               SET next_attempt_at = now() + make_interval(secs => $3)
              FROM due WHERE d.id = due.id
            RETURNING d.id, d.merchant_id, d.event, d.payload, d.created_at, d.attempts
         )
         SELECT c.id, c.event, c.payload, c.created_at, c.attempts,
                m.webhook_url, m.webhook_secret_ciphertext
           FROM claimed c JOIN merchants m ON m.id = c.merchant_id
          ORDER BY c.id",
    )
    .bind::<BigInt, _>(limit)
    .bind::<Integer, _>(MAX_ATTEMPTS)
    .bind::<Integer, _>(CLAIM_SECONDS)
    .load(conn)
}

/// What became of one attempt.
enum Outcome {
    Delivered,
    /// Not sent: no URL or secret. Not counted as an attempt.
    NotSetUp(&'static str),
    Failed(String),
}

/// The wait before the attempt after `attempts` failed ones: 30 s, 1 min, 2 min,
/// … capped at 6 h.
fn backoff_seconds(attempts: i32) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    (FIRST_RETRY_SECONDS << doublings).min(MAX_RETRY_SECONDS)
}

fn record(conn: &mut PgConnection, claimed: &Claimed, outcome: &Outcome) -> QueryResult<()> {
    let row = webhook_deliveries::table.find(claimed.id);
    match outcome {
        Outcome::Delivered => diesel::update(row)
            .set((
                webhook_deliveries::delivered_at.eq(diesel::dsl::now),
                webhook_deliveries::attempts.eq(claimed.attempts + 1),
                webhook_deliveries::last_error.eq(None::<String>),
            ))
            .execute(conn),
        Outcome::NotSetUp(why) => diesel::update(row)
            .set((
                webhook_deliveries::last_error.eq(*why),
                webhook_deliveries::next_attempt_at
                    .eq(Utc::now() + chrono::Duration::seconds(NOT_SET_UP_RETRY_SECONDS)),
            ))
            .execute(conn),
        Outcome::Failed(error) => {
            let attempts = claimed.attempts + 1;
            if attempts >= MAX_ATTEMPTS {
                tracing::warn!(delivery = claimed.id, %error, "webhook given up");
            }
            diesel::update(row)
                .set((
                    webhook_deliveries::attempts.eq(attempts),
                    webhook_deliveries::last_error
                        .eq(error.chars().take(MAX_ERROR_CHARS).collect::<String>()),
                    webhook_deliveries::next_attempt_at
                        .eq(Utc::now() + chrono::Duration::seconds(backoff_seconds(attempts))),
                ))
                .execute(conn)
        }
    }
    .map(drop)
}

/// A client for one delivery, connecting only to the addresses `pinned` was
/// checked against (a second lookup could answer differently). No redirects (a
/// redirect could send signed settlement figures somewhere the merchant did not
/// name, or somewhere internal) and no proxy from the environment (it would
/// make its own lookup).
fn client(pinned: &target::Pinned) -> reqwest::Result<reqwest::Client> {
    let mut builder = crate::outbound::builder(TIMEOUT).no_proxy();
    if let Some(domain) = &pinned.domain {
        builder = builder.resolve_to_addrs(domain, &pinned.addrs);
    }
    builder.build()
}

/// The headers that sign `body` for `url`, as API.md signs requests:
/// lowercase hex HMAC-SHA256 keyed with the secret's UTF-8 bytes over
/// `POST\nPATH_WITH_QUERY\nTIMESTAMP\nNONCE\nHEX_SHA256_OF_BODY`.
pub fn signature_headers(
    secret: &str,
    url: &Url,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let path_with_query = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let message = format!(
        "POST\n{path_with_query}\n{timestamp}\n{nonce}\n{}",
        hex::encode(crypto::sha256(body))
    );
    [
        ("X-Alliance-Timestamp", timestamp.to_string()),
        ("X-Alliance-Nonce", nonce.to_owned()),
        (
            "X-Alliance-Signature",
            hex::encode(crypto::hmac_sha256(secret.as_bytes(), message.as_bytes())),
        ),
    ]
}

async fn send(keys: &Keys, policy: &Policy, claimed: &Claimed) -> Outcome {
    let Some(url) = &claimed.webhook_url else {
        return Outcome::NotSetUp("no webhook URL");
    };
    let Some(secret) = claimed
        .webhook_secret_ciphertext
        .as_deref()
        .and_then(|sealed| endpoint::open_secret(keys, sealed))
    else {
        return Outcome::NotSetUp("no webhook secret");
    };
    let Ok(url) = Url::parse(url) else {
        return Outcome::Failed("the webhook URL does not parse".to_owned());
    };
    let client = match policy.pin(&url).await.map(|pinned| client(&pinned)) {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => return Outcome::Failed(format!("{e}")),
        Err(refused) => return Outcome::Failed(format!("refused: {refused}")),
    };
    let body = serde_json::to_vec(&json!({
        "event": claimed.event,
        "id": claimed.id,
        "created_at": claimed.created_at,
        "data": claimed.payload,
    }))
    .expect("JSON values serialise");
    let mut request = client
        .post(url.clone())
        .header("Content-Type", "application/json")
        .header("X-Alliance-Event", &claimed.event);
    for (name, value) in signature_headers(
        &secret,
        &url,
        Utc::now().timestamp(),
        &crypto::random_token(),
        &body,
    ) {
        request = request.header(name, value);
    }
    match request.body(body).send().await {
        Ok(response) if response.status().is_success() => Outcome::Delivered,
        Ok(response) => {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            Outcome::Failed(format!("HTTP {status}: {text}"))
        }
        Err(e) => Outcome::Failed(format!("{e}")),
    }
}

/// Sends the due deliveries (see `claim` for how two processes share the work)
/// and records each result; returns how many were delivered. A crash between a
/// send and its record sends it again after the claim period: delivery is at
/// least once, and receivers tell repeats apart by the body's `id`.
pub async fn deliver_due(pool: &PgPool, keys: &Keys, policy: &Policy) -> anyhow::Result<usize> {
    let claimed = claim(&mut *pool.get()?, BATCH)?;
    let mut delivered = 0;
    for delivery in &claimed {
        let outcome = send(keys, policy, delivery).await;
        delivered += usize::from(matches!(outcome, Outcome::Delivered));
        record(&mut *pool.get()?, delivery, &outcome)?;
    }
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_30_seconds_to_6_hours() {
        assert_eq!(backoff_seconds(1), 30);
        assert_eq!(backoff_seconds(2), 60);
        assert_eq!(backoff_seconds(5), 480);
        assert_eq!(backoff_seconds(11), MAX_RETRY_SECONDS);
    }
}
