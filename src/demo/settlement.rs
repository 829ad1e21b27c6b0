//! Settlement in the demo: every demo merchant gets settlement terms when it
//! joins (weekly on Mondays, monthly on the 1st, weekly on Thursdays in turn —
//! a daily cycle would triple the seed's statements and time — and a platform
//! share of 1–2%), its own account as the recipient of the
//! rest and, for every other merchant, an agent taking 5%. Then the history
//! settles each day what has ended, as the scheduler does ([`settle`]), the
//! merchants pay what the statements collect from them ([`pay_collections`]),
//! and the house pays out each Monday ([`pay_out`]). A second run finds the recipients
//! there and changes nothing.

use chrono::{NaiveDate, Weekday};
use diesel::PgConnection;

use crate::{
    crypto::Keys,
    domain::{actor::Actor, id::MerchantId},
    merchant,
    settlement::{
        collection,
        cycle::Cycle,
        payout,
        recipients::{self, RecipientInput},
        run::{self, RunRequest, Trigger},
        terms::{self, Terms},
    },
};

/// Account numbers of the demo's recipients (fictional, valid in form).
const OWN_ACCOUNT: &str = "6225880100001";
const AGENT_ACCOUNT: &str = "6217000900002";

/// Terms and recipients for each merchant that has no recipient yet.
pub fn prepare(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    merchant_ids: &[MerchantId],
) -> anyhow::Result<()> {
    for (index, &merchant_id) in merchant_ids.iter().enumerate() {
        if !recipients::active(conn, merchant_id)?.is_empty() {
            continue;
        }
        let merchant = merchant::find(conn, merchant_id)?.expect("demo merchants exist");
        let cycle = [
            Cycle::Weekly(Weekday::Mon),
            Cycle::Monthly(1),
            Cycle::Weekly(Weekday::Thu),
        ][index % 3];
        terms::set(
            conn,
            actor,
            merchant_id,
            &Terms {
                cycle,
                platform_fee_bp: [100, 150, 200][index % 3],
                collection_days: 7,
                deduct_from_deposit: index % 4 != 3,
                finance_email: None,
            },
        )?;
        let own = recipient(
            &format!("{} 结算账户", merchant.name_zh),
            "own_account",
            "rest",
            OWN_ACCOUNT,
        );
        recipients::add(conn, actor, keys, merchant_id, &own)?;
        if index % 2 == 0 {
            let agent = recipient("华东区代理商", "agent", "percent", AGENT_ACCOUNT);
            recipients::add(conn, actor, keys, merchant_id, &agent)?;
        }
    }
    Ok(())
}

/// Settles the periods that ended by `today`'s midnight and reviews the
/// collections due, as the daily job does; returns how many statements.
pub fn settle(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    today: NaiveDate,
) -> anyhow::Result<usize> {
    let summary = run::run(
        conn,
        keys,
        actor,
        RunRequest {
            trigger: Trigger::Schedule,
            merchant_id: None,
            through: today,
        },
    )?;
    anyhow::ensure!(
        summary.exceptions.is_empty(),
        "demo settlement: {:?}",
        summary.exceptions
    );
    collection::review_due(conn, actor, today)?;
    Ok(summary.settled)
}

/// The merchants pay what they owe by bank transfer, before it falls due (an
/// overdue collection would block their issuing); returns how many they paid.
pub fn pay_collections(conn: &mut PgConnection, actor: &Actor) -> anyhow::Result<usize> {
    let open = collection::list(conn, true, 1_000)?;
    for owed in &open {
        let reference = format!("DEMO-COLL-{}", owed.id);
        collection::record_receipt(conn, actor, owed.id, owed.outstanding(), &reference)?;
    }
    Ok(open.len())
}

/// Batches the pending payouts and sends them to the bank, which pays all of
/// them — all but the first when `one_in_flight`, so the batch page shows a
/// payout the bank has not confirmed. Returns the batch's line, if any.
pub fn pay_out(
    conn: &mut PgConnection,
    actor: &Actor,
    today: NaiveDate,
    one_in_flight: bool,
) -> anyhow::Result<Option<String>> {
    let Some(batch) = payout::create_batch(conn, actor, today)? else {
        return Ok(None);
    };
    payout::mark_sent(conn, actor, batch.id)?;
    let sent = payout::of_batch(conn, batch.id)?;
    for p in sent.iter().skip(usize::from(one_in_flight)) {
        payout::confirm(conn, actor, p.id)?;
    }
    Ok(Some(format!(
        "payout batch {} sent (¥{})",
        batch.reference,
        batch.total()
    )))
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
