//! Settlement as both the platform's and the merchant console's pages show it:
//! statement, payout, recipient and collection rows and the terms, formatted
//! once for either portal.

use std::collections::HashMap;

use crate::{
    domain::id::{MerchantId, StatementId},
    i18n::Locale,
    i18n::format,
    settlement::{
        collection::{Collection, CollectionStatus},
        payout::Payout,
        recipients::{self, Recipient},
        split::Share,
        statement::Statement,
        terms::Terms,
    },
    web::error::WebError,
};

fn period(s: &Statement) -> String {
    let (first, last) = s.days();
    format!("{first} – {last}")
}

fn outcome_label(locale: Locale, s: &Statement) -> String {
    locale
        .t(&format!(
            "settlement_portals.outcome.{}",
            s.outcome.as_str()
        ))
        .into_owned()
}

/// A statement as the lists show it.
pub(super) struct StatementRow {
    pub id: StatementId,
    pub merchant_id: MerchantId,
    pub merchant: String,
    pub period: String,
    pub opening: String,
    pub activity: String,
    pub closing: String,
    pub outcome: String,
    pub paid_out: String,
}

impl StatementRow {
    pub(super) fn of(s: &Statement, merchant: String, locale: Locale) -> Self {
        Self {
            id: s.id,
            merchant_id: s.merchant_id,
            merchant,
            period: period(s),
            opening: format::money(s.opening),
            activity: format::money(s.activity),
            closing: format::money(s.closing),
            outcome: outcome_label(locale, s),
            paid_out: format::money(s.paid_out()),
        }
    }
}

/// A payout as the lists show it.
pub(super) struct PayoutRow {
    pub id: i64,
    pub statement_id: StatementId,
    pub merchant: String,
    pub recipient: String,
    pub last4: String,
    pub amount: String,
    pub reference: String,
    pub status: &'static str,
    pub status_label: String,
    pub failure: String,
    /// For the repayment of a failed payout: which one it repays.
    pub repays: String,
    pub created_at: String,
}

impl PayoutRow {
    pub(super) fn of(
        p: &Payout,
        recipient: Option<&Recipient>,
        merchant: String,
        locale: Locale,
    ) -> Self {
        Self {
            id: p.id,
            statement_id: p.statement_id,
            merchant,
            recipient: recipient.map(|r| r.name.clone()).unwrap_or_default(),
            last4: recipient
                .map(|r| r.account_last4.clone())
                .unwrap_or_default(),
            amount: format::money(p.amount),
            reference: p.reference.clone(),
            status: p.status.as_str(),
            status_label: locale
                .t(&format!(
                    "settlement_portals.payout.status.{}",
                    p.status.as_str()
                ))
                .into_owned(),
            failure: p.failure_reason.clone().unwrap_or_default(),
            repays: p
                .repays_payout_id
                .map(|id| {
                    locale.t_with(
                        "settlement_portals.payout.repays",
                        &[("id", &id.to_string())],
                    )
                })
                .unwrap_or_default(),
            created_at: format::datetime(p.created_at, locale),
        }
    }
}

/// The recipients of the payouts, by id.
pub(super) fn recipients_of(
    conn: &mut diesel::PgConnection,
    payouts: &[Payout],
) -> Result<HashMap<i64, Recipient>, WebError> {
    let mut found = HashMap::new();
    for p in payouts {
        if !found.contains_key(&p.recipient_id)
            && let Some(r) = recipients::find(conn, p.recipient_id)?
        {
            found.insert(r.id, r);
        }
    }
    Ok(found)
}

/// A recipient as the lists show it.
pub(super) struct RecipientRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub bank: String,
    pub last4: String,
    pub share: String,
}

impl RecipientRow {
    pub(super) fn of(r: &Recipient, locale: Locale) -> Self {
        Self {
            id: r.id,
            kind: locale
                .t(&format!(
                    "settlement_portals.recipient.kind.{}",
                    r.kind.as_str()
                ))
                .into_owned(),
            name: r.name.clone(),
            bank: match &r.bank_code {
                Some(code) => format!("{} ({code})", r.bank_name),
                None => r.bank_name.clone(),
            },
            last4: r.account_last4.clone(),
            share: share_label(r.share, locale),
        }
    }
}

fn share_label(share: Share, locale: Locale) -> String {
    match share {
        Share::Rest => locale.t("settlement_portals.recipient.rest").into_owned(),
        Share::Percent(bp) => format!("{}.{:02}%", bp / 100, bp % 100),
        Share::Fixed(amount) => format::money(amount),
    }
}

/// Terms as the pages show them.
pub(super) struct TermsView {
    pub cycle: String,
    pub cycle_kind: &'static str,
    pub weekday: String,
    pub month_day: String,
    pub platform_fee: String,
    pub collection_days: u16,
    pub deduct_from_deposit: bool,
    pub finance_email: String,
}

impl TermsView {
    pub(super) fn of(t: &Terms, locale: Locale) -> Self {
        let kind = t.cycle.kind();
        let weekday = t.cycle.weekday_column();
        let month_day = t.cycle.month_day_column();
        let mut cycle = locale
            .t(&format!("settlement_portals.cycle.{kind}"))
            .into_owned();
        if let Some(day) = weekday {
            cycle = format!(
                "{cycle} · {}",
                locale.t(&format!("settlement_portals.weekday.{day}"))
            );
        }
        if let Some(day) = month_day {
            cycle = format!("{cycle} · {day}");
        }
        Self {
            cycle,
            cycle_kind: kind,
            weekday: weekday.map(|d| d.to_string()).unwrap_or_default(),
            month_day: month_day.map(|d| d.to_string()).unwrap_or_default(),
            platform_fee: t.platform_fee_percent(),
            collection_days: t.collection_days,
            deduct_from_deposit: t.deduct_from_deposit,
            finance_email: t.finance_email.clone().unwrap_or_default(),
        }
    }
}

pub(super) struct CollectionRow {
    pub id: i64,
    pub merchant: String,
    pub amount: String,
    pub collected: String,
    pub outstanding: String,
    pub due_on: String,
    pub status: String,
    pub status_css: &'static str,
    pub open: bool,
}

impl CollectionRow {
    pub(super) fn of(c: &Collection, merchant: String, locale: Locale) -> Self {
        Self {
            id: c.id,
            merchant,
            amount: format::money(c.amount),
            collected: format::money(c.collected),
            outstanding: format::money(c.outstanding()),
            due_on: c.due_on.to_string(),
            status: locale
                .t(&format!(
                    "settlement_portals.collection.status.{}",
                    c.status
                ))
                .into_owned(),
            status_css: match c.status {
                CollectionStatus::Overdue => "rejected",
                CollectionStatus::Open => "pending",
                CollectionStatus::Paid | CollectionStatus::Superseded => "approved",
            },
            open: c.is_open(),
        }
    }
}
