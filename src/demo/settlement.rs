//! Settlement in the demo: every demo merchant gets settlement terms (the three
//! cycles in turn, a platform share of 1–2%), its own account as the recipient
//! of the rest and, for every other merchant, an agent taking 5%. Then the
//! periods that have ended are settled, as the scheduler settles them — never
//! one that has not: the demo's history is booked as of yesterday noon
//! ([`history_booked_at`]), its merchants join the clearing house then, and
//! each cycle cuts at today's midnight (weekly on today's weekday, monthly on
//! today's day), so every merchant's first period, yesterday, has ended and a
//! fresh install has statements, payouts and collections to show. Today's
//! activity waits for tomorrow's statements. The payouts go out in one bank
//! batch, all but one confirmed. A second run finds the statements and
//! recipients there and changes nothing.

use chrono::{DateTime, Datelike, Duration, Utc};
use diesel::{PgConnection, prelude::*};

use crate::{
    crypto::Keys,
    db::schema::merchants,
    domain::{actor::Actor, id::MerchantId, shanghai},
    merchant,
    settlement::{
        cycle::{Cycle, LAST_MONTH_DAY},
        payout,
        recipients::{self, RecipientInput},
        run::{self, RunRequest, Trigger},
        statement,
        terms::{self, Terms},
    },
};

/// Account numbers of the demo's recipients (fictional, valid in form).
const OWN_ACCOUNT: &str = "6225880100001";
const AGENT_ACCOUNT: &str = "6217000900002";

/// When the demo's history is booked: noon yesterday in Shanghai.
pub fn history_booked_at() -> DateTime<Utc> {
    let today = shanghai::date_of(crate::clock::now());
    shanghai::midnight(today.pred_opt().expect("a day before today")) + Duration::hours(12)
}

pub fn settle(
    conn: &mut PgConnection,
    keys: &Keys,
    merchant_ids: &[MerchantId],
) -> anyhow::Result<String> {
    let actor = Actor::system("demo");
    let today = shanghai::date_of(crate::clock::now());
    for (index, &merchant_id) in merchant_ids.iter().enumerate() {
        if statement::last(conn, merchant_id)?.is_some() {
            continue;
        }
        let merchant = merchant::find(conn, merchant_id)?.expect("demo merchants exist");
        // Each merchant joined when its history was booked, so its first period
        // starts yesterday and, cut at today's midnight, has ended.
        diesel::update(merchants::table.find(merchant_id))
            .filter(merchants::created_at.gt(history_booked_at()))
            .set(merchants::created_at.eq(history_booked_at()))
            .execute(conn)?;
        let cycle = match index % 3 {
            0 => Cycle::Daily,
            1 => Cycle::Weekly(today.weekday()),
            // Monthly cycles cut on days 1 to 28: on the 29th to the 31st the
            // monthly merchants settle daily, so that they too show a statement.
            _ if today.day() > LAST_MONTH_DAY => Cycle::Daily,
            _ => Cycle::Monthly(today.day()),
        };
        terms::set(
            conn,
            &actor,
            merchant_id,
            &Terms {
                cycle,
                platform_fee_bp: [100, 150, 200][index % 3],
                collection_days: 7,
                deduct_from_deposit: index % 4 != 3,
                finance_email: None,
            },
        )?;
        if recipients::active(conn, merchant_id)?.is_empty() {
            let own = recipient(
                &format!("{} 结算账户", merchant.name_zh),
                "own_account",
                "rest",
                OWN_ACCOUNT,
            );
            recipients::add(conn, &actor, keys, merchant_id, &own)?;
            if index % 2 == 0 {
                let agent = recipient("华东区代理商", "agent", "percent", AGENT_ACCOUNT);
                recipients::add(conn, &actor, keys, merchant_id, &agent)?;
            }
        }
    }
    let summary = run::run(
        conn,
        keys,
        &actor,
        RunRequest {
            trigger: Trigger::Operator,
            merchant_id: None,
            through: today,
        },
    )?;
    anyhow::ensure!(
        summary.exceptions.is_empty(),
        "demo settlement: {:?}",
        summary.exceptions
    );
    let mut text = format!(
        "{} statements of ended periods settled through the settlement service",
        summary.settled
    );
    if let Some(batch) = payout::create_batch(conn, &actor, today)? {
        payout::mark_sent(conn, &actor, batch.id)?;
        let sent = payout::of_batch(conn, batch.id)?;
        // One stays with the bank, so the batch page shows a payout in flight.
        for p in sent.iter().skip(1) {
            payout::confirm(conn, &actor, p.id)?;
        }
        text = format!(
            "{text}; payout batch {} sent (¥{})",
            batch.reference,
            batch.total()
        );
    }
    Ok(text)
}

/// A recipient at the demo's bank; a percentage share is 5%.
fn recipient(name: &str, kind: &str, share_kind: &str, account: &str) -> RecipientInput {
    RecipientInput {
        kind: kind.into(),
        name: name.into(),
        bank_name: "招商银行上海分行".into(),
        bank_code: "CMBCCNBS".into(),
        account: account.into(),
        share_kind: share_kind.into(),
        share_value: if share_kind == "percent" { "5" } else { "" }.into(),
    }
}
