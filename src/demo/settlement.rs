//! Settlement in the demo: every demo merchant gets settlement terms (the three
//! cycles in turn, a platform share of 1–2%), its own account as the recipient
//! of the rest and, for every other merchant, an agent taking 5%. Then each
//! merchant's first period is settled — early, on the day the demo is seeded,
//! so that a fresh install has statements, payouts and collections to show; the
//! scheduler carries on from the end of that period — and the payouts go out in
//! one bank batch, all but one confirmed. A second run finds the statements and
//! recipients there and changes nothing.

use chrono::{Utc, Weekday};
use diesel::PgConnection;

use crate::{
    crypto::Keys,
    domain::{actor::Actor, shanghai},
    merchant,
    settlement::{
        cycle::Cycle,
        payout,
        recipients::{self, RecipientInput},
        statement::{self, Outcome},
        terms::{self, Terms},
    },
};

/// Account numbers of the demo's recipients (fictional, valid in form).
const OWN_ACCOUNT: &str = "6225880100001";
const AGENT_ACCOUNT: &str = "6217000900002";

pub fn settle(
    conn: &mut PgConnection,
    keys: &Keys,
    merchant_ids: &[i64],
) -> anyhow::Result<String> {
    let actor = Actor::system("demo");
    let (mut payouts, mut collections) = (0, 0);
    for (index, &merchant_id) in merchant_ids.iter().enumerate() {
        if statement::last(conn, merchant_id)?.is_some() {
            continue;
        }
        let merchant = merchant::find(conn, merchant_id)?.expect("demo merchants exist");
        let cycle = match index % 3 {
            0 => Cycle::Daily,
            1 => Cycle::Weekly(Weekday::Mon),
            _ => Cycle::Monthly(1),
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
        let period = cycle.period_from(shanghai::date_of(merchant.created_at));
        match statement::settle(conn, keys, merchant_id, period, None)?
            .statement
            .outcome
        {
            Outcome::Payout => payouts += 1,
            Outcome::Collection => collections += 1,
            Outcome::Nil => {}
        }
    }
    let mut text = format!(
        "{payouts} merchants paid out, {collections} owing, settled through the settlement service"
    );
    if let Some(batch) = payout::create_batch(conn, &actor, shanghai::date_of(Utc::now()))? {
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
