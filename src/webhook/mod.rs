//! Signed webhooks to merchants (API.md: settlement ready, payout sent, deposit
//! low). An event is written to the `webhook_deliveries` outbox in the same
//! transaction as the change it reports, so it is sent if and only if the change
//! committed; delivery and retries happen later, outside that transaction.

use diesel::prelude::*;

use crate::db::schema::webhook_deliveries;

/// Queues `event` about `subject` (e.g. `settlement.ready` of `statement:7`) for
/// the merchant; queuing the same event about the same subject again is a no-op.
pub fn enqueue(
    conn: &mut PgConnection,
    merchant_id: i64,
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
