//! Finance's settlement pages (PRODUCT.md, platform portal): settlement runs and
//! their statements, payout batches with their bank files, collections of what
//! merchants owe, and each merchant's settlement terms and recipients.
//!
//! Finance and admins act; risk reads. Handlers call the settlement services in
//! `crate::settlement` and never query the database themselves.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, http::header, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use crate::{
    domain::{
        id::{MerchantId, StatementId},
        money::Money,
        shanghai,
    },
    error::Classify,
    i18n::Locale,
    i18n::format,
    merchant::{self, standing},
    people::operator::OperatorRole,
    settlement::{
        collection::{self, Collection, CollectionStatus},
        payout::{self, BatchStatus, Payout},
        payout_file::{self, Party},
        recipients::{self, Recipient, RecipientInput},
        run::{self, RunRequest, Trigger},
        split::Share,
        statement::{self, Statement},
        terms::{self, Terms, TermsInput},
    },
    web::{
        auth::{OperatorPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::{CsrfForm, NoFields},
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::super::see_other;

/// Who moves settlement money: runs settlements, makes and resolves batches,
/// records collections, sets terms and recipients.
pub(super) const SETTLEMENT_HANDLERS: &[OperatorRole] =
    &[OperatorRole::Finance, OperatorRole::Admin];
/// Who reads the settlement pages.
pub(super) const SETTLEMENT_READERS: &[OperatorRole] = &[
    OperatorRole::Finance,
    OperatorRole::Admin,
    OperatorRole::Risk,
];
const LIST_SIZE: i64 = 200;
/// How many pending payouts the batch page adds up (a batch takes at most a
/// bank file's worth; the rest wait for the next).
const PENDING_SCAN: i64 = 10_000;

/// The house's own bank account, which pays every payout: the debtor of each
/// batch's bank file. The one place it is written down.
pub fn house_account() -> Party {
    Party {
        name: "联盟清算中心".to_owned(),
        account: "121900000000001".to_owned(),
        bank_name: "招商银行上海分行".to_owned(),
        bank_code: Some("CMBCCNBS".to_owned()),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_runs)
        .service(run_now)
        .service(show_run)
        .service(show_payouts)
        .service(create_batch)
        .service(batch_csv)
        .service(batch_xml)
        .service(show_batch)
        .service(mark_sent)
        .service(confirm_payout)
        .service(fail_payout)
        .service(show_collections)
        .service(record_receipt)
        .service(deduct_from_deposit)
        .service(show_merchant)
        .service(set_terms)
        .service(add_recipient)
        .service(remove_recipient);
}

fn can_act(who: &OperatorPrincipal) -> bool {
    SETTLEMENT_HANDLERS.contains(&who.operator.role)
}

/// `code · name` of every merchant, by id.
fn merchant_names(
    conn: &mut diesel::PgConnection,
    locale: Locale,
) -> Result<HashMap<MerchantId, String>, WebError> {
    Ok(standing::list(conn)?
        .iter()
        .map(|m| (m.id, format!("{} · {}", m.code, m.name(locale))))
        .collect())
}

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
pub(in crate::portals) struct StatementRow {
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
    pub(in crate::portals) fn of(s: &Statement, merchant: String, locale: Locale) -> Self {
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
pub(in crate::portals) struct PayoutRow {
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
    pub(in crate::portals) fn of(
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
pub(in crate::portals) fn recipients_of(
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
pub(in crate::portals) struct RecipientRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub bank: String,
    pub last4: String,
    pub share: String,
}

impl RecipientRow {
    pub(in crate::portals) fn of(r: &Recipient, locale: Locale) -> Self {
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
pub(in crate::portals) struct TermsView {
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
    pub(in crate::portals) fn of(t: &Terms, locale: Locale) -> Self {
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

// ---------------------------------------------------------------- runs

struct RunRow {
    id: i64,
    started_at: String,
    trigger: String,
    started_by: String,
    settled: i32,
    payout: String,
    owed: String,
    exceptions: usize,
    /// `running`, `finished` or `interrupted`: the status pill's class.
    state: &'static str,
    state_label: String,
}

impl RunRow {
    fn of(r: &run::Run, locale: Locale) -> Self {
        Self {
            id: r.id,
            started_at: format::datetime(r.started_at, locale),
            trigger: locale
                .t(&format!("settlement_portals.trigger.{}", r.trigger))
                .into_owned(),
            started_by: r.started_by.clone(),
            settled: r.settled,
            payout: format::money(r.payout()),
            owed: format::money(r.owed()),
            exceptions: r.exceptions().len(),
            state: r.state().as_str(),
            state_label: locale
                .t(&format!(
                    "settlement_portals.run_state.{}",
                    r.state().as_str()
                ))
                .into_owned(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/settlement/runs.html")]
struct RunsPage {
    chrome: Chrome,
    runs: Vec<RunRow>,
    can_act: bool,
}

#[get("/settlement")]
async fn show_runs(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<RunsPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let runs = state
        .db(|conn| Ok::<_, WebError>(run::recent(conn, LIST_SIZE)?))
        .await?;
    Ok(RunsPage {
        chrome: super::chrome(&ctx, &who, "/platform/settlement"),
        runs: runs.iter().map(|r| RunRow::of(r, ctx.locale)).collect(),
        can_act: can_act(&who),
    })
}

#[post("/settlement/run")]
async fn run_now(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let (actor, keys) = (who.actor.clone(), state.keys.clone());
    let summary = state
        .db(move |conn| {
            // Through today, which has always begun; were it refused, the
            // operator reads why.
            flash::refusal(run::run(
                conn,
                &keys,
                &actor,
                RunRequest {
                    trigger: Trigger::Operator,
                    merchant_id: None,
                    through: shanghai::date_of(crate::clock::now()),
                },
            ))
        })
        .await?;
    let summary = match summary {
        Ok(summary) => summary,
        Err(e) => {
            flash::refused_flash(&ctx.session, ctx.locale, e)?;
            return Ok(see_other("/platform/settlement"));
        }
    };
    let Some(id) = summary.run else {
        set_flash(
            &ctx.session,
            FlashKind::Success,
            "settlement_portals.flash.nothing_due",
        );
        return Ok(see_other("/platform/settlement"));
    };
    let key = if summary.exceptions.is_empty() {
        "settlement_portals.flash.run"
    } else {
        "settlement_portals.flash.run_exceptions"
    };
    set_flash(&ctx.session, FlashKind::Success, key);
    Ok(see_other(format!("/platform/settlement/runs/{id}")))
}

struct ExceptionRow {
    merchant: String,
    error: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/settlement/run.html")]
struct RunPage {
    chrome: Chrome,
    run: RunRow,
    statements: Vec<StatementRow>,
    exceptions: Vec<ExceptionRow>,
}

#[get("/settlement/runs/{id}")]
async fn show_run(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<RunPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let (id, locale) = (id.into_inner(), ctx.locale);
    let (found, statements, names) = state
        .db(move |conn| {
            Ok::<_, WebError>((
                run::find(conn, id)?,
                statement::of_run(conn, id)?,
                merchant_names(conn, locale)?,
            ))
        })
        .await?;
    let found = found.ok_or(WebError::NotFound)?;
    let name = |id: MerchantId| names.get(&id).cloned().unwrap_or_else(|| id.to_string());
    Ok(RunPage {
        chrome: super::chrome(&ctx, &who, "/platform/settlement"),
        run: RunRow::of(&found, locale),
        statements: statements
            .iter()
            .map(|s| StatementRow::of(s, name(s.merchant_id), locale))
            .collect(),
        exceptions: found
            .exceptions()
            .into_iter()
            .map(|e| ExceptionRow {
                merchant: name(e.merchant_id),
                error: e.error,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------- payouts

/// Flashes `success`, or the refusal; a failure of the system itself is an
/// error page instead.
fn flash_outcome<T, E>(
    ctx: &PageContext,
    result: Result<T, E>,
    success: &str,
) -> Result<(), WebError>
where
    E: Classify + Send + Sync + 'static,
{
    flash::outcome(&ctx.session, ctx.locale, result, success)?;
    Ok(())
}

struct BatchRow {
    id: i64,
    reference: String,
    execution_date: String,
    payouts: i32,
    total: String,
    status: String,
    status_css: &'static str,
    created: String,
    sent: String,
}

impl BatchRow {
    fn of(b: &payout::Batch, locale: Locale) -> Self {
        Self {
            id: b.id,
            reference: b.reference.clone(),
            execution_date: b.execution_date.to_string(),
            payouts: b.payouts,
            total: format::money(b.total()),
            status: locale
                .t(&format!("settlement_portals.batch.status.{}", b.status))
                .into_owned(),
            status_css: match b.status {
                BatchStatus::Closed => "approved",
                BatchStatus::Sent => "active",
                BatchStatus::Created => "pending",
            },
            created: format!(
                "{} · {}",
                format::datetime(b.created_at, locale),
                b.created_by
            ),
            sent: match (&b.sent_at, &b.sent_by) {
                (Some(at), Some(by)) => format!("{} · {by}", format::datetime(*at, locale)),
                _ => String::new(),
            },
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/settlement/payouts.html")]
struct PayoutsPage {
    chrome: Chrome,
    pending_count: usize,
    pending_total: String,
    today: String,
    batches: Vec<BatchRow>,
    can_act: bool,
}

#[get("/settlement/payouts")]
async fn show_payouts(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<PayoutsPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let (pending, batches) = state
        .db(|conn| {
            Ok::<_, WebError>((
                payout::pending(conn, PENDING_SCAN)?,
                payout::batches(conn, LIST_SIZE)?,
            ))
        })
        .await?;
    let total: i64 = pending.iter().map(|p| p.amount.fen()).sum();
    Ok(PayoutsPage {
        chrome: super::chrome(&ctx, &who, "/platform/settlement"),
        pending_count: pending.len(),
        pending_total: format::money(Money::from_fen(total)),
        today: shanghai::date_of(Utc::now()).to_string(),
        batches: batches
            .iter()
            .map(|b| BatchRow::of(b, ctx.locale))
            .collect(),
        can_act: can_act(&who),
    })
}

#[derive(Deserialize)]
struct BatchForm {
    #[serde(default)]
    execution_date: String,
}

#[post("/settlement/payouts/batches")]
async fn create_batch(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<BatchForm>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let today = shanghai::date_of(Utc::now());
    let date = match form.execution_date.trim() {
        "" => today,
        text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) if date >= today => date,
            _ => {
                set_flash(
                    &ctx.session,
                    FlashKind::Error,
                    "settlement_portals.error.execution_date",
                );
                return Ok(see_other("/platform/settlement/payouts"));
            }
        },
    };
    let actor = who.actor.clone();
    let result = state
        .db(move |conn| flash::refusal(payout::create_batch(conn, &actor, date)))
        .await?;
    match result {
        Ok(Some(batch)) => {
            set_flash(
                &ctx.session,
                FlashKind::Success,
                "settlement_portals.flash.batch_created",
            );
            Ok(see_other(format!(
                "/platform/settlement/payouts/batches/{}",
                batch.id
            )))
        }
        Ok(None) => {
            set_flash(
                &ctx.session,
                FlashKind::Error,
                "settlement_portals.error.nothing_pending",
            );
            Ok(see_other("/platform/settlement/payouts"))
        }
        Err(e) => {
            flash::refused_flash(&ctx.session, ctx.locale, e)?;
            Ok(see_other("/platform/settlement/payouts"))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/settlement/batch.html")]
struct BatchPage {
    chrome: Chrome,
    batch: BatchRow,
    can_send: bool,
    payouts: Vec<PayoutRow>,
    can_act: bool,
}

#[get("/settlement/payouts/batches/{id:\\d+}")]
async fn show_batch(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<BatchPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let (id, locale) = (id.into_inner(), ctx.locale);
    let (batch, payouts, recipients, names) = state
        .db(move |conn| {
            let payouts = payout::of_batch(conn, id)?;
            let recipients = recipients_of(conn, &payouts)?;
            Ok::<_, WebError>((
                payout::batch(conn, id)?,
                payouts,
                recipients,
                merchant_names(conn, locale)?,
            ))
        })
        .await?;
    let batch = batch.ok_or(WebError::NotFound)?;
    Ok(BatchPage {
        chrome: super::chrome(&ctx, &who, "/platform/settlement"),
        can_send: batch.status == BatchStatus::Created,
        batch: BatchRow::of(&batch, locale),
        payouts: payouts
            .iter()
            .rev()
            .map(|p| {
                PayoutRow::of(
                    p,
                    recipients.get(&p.recipient_id),
                    names.get(&p.merchant_id).cloned().unwrap_or_default(),
                    locale,
                )
            })
            .collect(),
        can_act: can_act(&who),
    })
}

async fn batch_file(state: &AppState, id: i64) -> Result<payout_file::PayoutFile, WebError> {
    let keys = state.keys.clone();
    state
        .db(move |conn| {
            // A download has no page to show a refusal on: a batch or a
            // recipient not there is the 404 page, and no other refusal can
            // come of reading a file.
            flash::found(payout::batch_file(conn, &keys, id, house_account()))?
                .map_err(flash::system)
        })
        .await
}

pub(in crate::portals) fn download(content_type: &str, name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

#[get("/settlement/payouts/batches/{id:\\d+}.csv")]
async fn batch_csv(
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let file = batch_file(&state, id.into_inner()).await?;
    Ok(download(
        "text/csv; charset=utf-8",
        &format!("{}.csv", file.message_id),
        payout_file::to_csv(&file),
    ))
}

#[get("/settlement/payouts/batches/{id:\\d+}.xml")]
async fn batch_xml(
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let file = batch_file(&state, id.into_inner()).await?;
    Ok(download(
        "application/xml; charset=utf-8",
        &format!("{}.xml", file.message_id),
        payout_file::to_pain001(&file).into_bytes(),
    ))
}

#[post("/settlement/payouts/batches/{id:\\d+}/sent")]
async fn mark_sent(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let (id, actor) = (id.into_inner(), who.actor.clone());
    let result = state
        .db(move |conn| Ok::<_, WebError>(payout::mark_sent(conn, &actor, id)))
        .await?;
    flash_outcome(&ctx, result, "settlement_portals.flash.sent")?;
    Ok(see_other(format!(
        "/platform/settlement/payouts/batches/{id}"
    )))
}

/// Where a resolved payout sends the operator back to: its batch.
#[derive(Deserialize)]
struct ResolveForm {
    #[serde(default)]
    reason: String,
    batch: Option<i64>,
}

impl ResolveForm {
    fn back(&self) -> String {
        self.batch.map_or_else(
            || "/platform/settlement/payouts".to_owned(),
            |id| format!("/platform/settlement/payouts/batches/{id}"),
        )
    }
}

#[post("/settlement/payouts/{id}/confirm")]
async fn confirm_payout(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ResolveForm>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let (id, actor) = (id.into_inner(), who.actor.clone());
    let result = state
        .db(move |conn| Ok::<_, WebError>(payout::confirm(conn, &actor, id)))
        .await?;
    flash_outcome(&ctx, result, "settlement_portals.flash.confirmed")?;
    Ok(see_other(form.back()))
}

#[post("/settlement/payouts/{id}/fail")]
async fn fail_payout(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ResolveForm>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let (id, actor, reason) = (id.into_inner(), who.actor.clone(), form.reason.clone());
    let result = state
        .db(move |conn| Ok::<_, WebError>(payout::fail(conn, &actor, id, &reason)))
        .await?;
    flash_outcome(&ctx, result, "settlement_portals.flash.failed")?;
    Ok(see_other(form.back()))
}

// ---------------------------------------------------------------- collections

pub(in crate::portals) struct CollectionRow {
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
    pub(in crate::portals) fn of(c: &Collection, merchant: String, locale: Locale) -> Self {
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

#[derive(Template, WebTemplate)]
#[template(path = "platform/settlement/collections.html")]
struct CollectionsPage {
    chrome: Chrome,
    collections: Vec<CollectionRow>,
    can_act: bool,
}

#[get("/settlement/collections")]
async fn show_collections(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<CollectionsPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let locale = ctx.locale;
    let (collections, names) = state
        .db(move |conn| {
            Ok::<_, WebError>((
                collection::list(conn, false, LIST_SIZE)?,
                merchant_names(conn, locale)?,
            ))
        })
        .await?;
    Ok(CollectionsPage {
        chrome: super::chrome(&ctx, &who, "/platform/settlement"),
        collections: collections
            .iter()
            .map(|c| {
                CollectionRow::of(
                    c,
                    names.get(&c.merchant_id).cloned().unwrap_or_default(),
                    locale,
                )
            })
            .collect(),
        can_act: can_act(&who),
    })
}

#[derive(Deserialize)]
struct ReceiptForm {
    amount: String,
    #[serde(default)]
    bank_reference: String,
}

const COLLECTIONS: &str = "/platform/settlement/collections";

#[post("/settlement/collections/{id}/receipt")]
async fn record_receipt(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ReceiptForm>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let Ok(amount) = Money::parse(form.amount.trim()) else {
        set_flash(
            &ctx.session,
            FlashKind::Error,
            "settlement.collection.error.amount",
        );
        return Ok(see_other(COLLECTIONS));
    };
    let (id, actor) = (id.into_inner(), who.actor.clone());
    let result = state
        .db(move |conn| {
            Ok::<_, WebError>(collection::record_receipt(
                conn,
                &actor,
                id,
                amount,
                &form.bank_reference,
            ))
        })
        .await?;
    flash_outcome(&ctx, result, "settlement_portals.flash.receipt")?;
    Ok(see_other(COLLECTIONS))
}

#[post("/settlement/collections/{id}/deduct")]
async fn deduct_from_deposit(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let (id, actor, policy, registry) = (
        id.into_inner(),
        who.actor.clone(),
        state.approval_policy,
        state.approvals.clone(),
    );
    let result = state
        .db(move |conn| {
            Ok::<_, WebError>(collection::request_deposit_collection(
                conn, &actor, id, policy, &registry,
            ))
        })
        .await?;
    flash_outcome(&ctx, result, "settlement_portals.flash.deduction_requested")?;
    Ok(see_other(COLLECTIONS))
}

// ---------------------------------------------------------------- a merchant

#[derive(Template, WebTemplate)]
#[template(path = "platform/settlement/merchant.html")]
struct MerchantPage {
    chrome: Chrome,
    merchant_id: MerchantId,
    merchant: String,
    terms: TermsView,
    recipients: Vec<RecipientRow>,
    statements: Vec<StatementRow>,
    can_act: bool,
}

#[get("/merchants/{id}/settlement")]
async fn show_merchant(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
) -> Result<MerchantPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let (id, locale) = (id.into_inner(), ctx.locale);
    let (found, terms, recipients, statements) = state
        .db(move |conn| {
            let Some(found) = merchant::find(conn, id)? else {
                return Err(WebError::NotFound);
            };
            Ok::<_, WebError>((
                found,
                terms::of(conn, id)?,
                recipients::active(conn, id)?,
                statement::of_merchant(conn, id, None, None, 24)?,
            ))
        })
        .await?;
    let name = format!("{} · {}", found.code, found.name(locale));
    Ok(MerchantPage {
        chrome: super::chrome(&ctx, &who, "/platform/merchants"),
        merchant_id: id,
        terms: TermsView::of(&terms, locale),
        recipients: recipients
            .iter()
            .map(|r| RecipientRow::of(r, locale))
            .collect(),
        statements: statements
            .iter()
            .map(|s| StatementRow::of(s, name.clone(), locale))
            .collect(),
        merchant: name,
        can_act: can_act(&who),
    })
}

fn merchant_page(id: MerchantId) -> String {
    format!("/platform/merchants/{id}/settlement")
}

#[post("/merchants/{id}/settlement/terms")]
async fn set_terms(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(form): CsrfForm<TermsInput>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let id = id.into_inner();
    let terms = match Terms::parse(&form) {
        Ok(terms) => terms,
        Err(e) => {
            flash::refused_flash(&ctx.session, ctx.locale, e)?;
            return Ok(see_other(merchant_page(id)));
        }
    };
    let actor = who.actor.clone();
    state
        .db(move |conn| {
            if merchant::find(conn, id)?.is_none() {
                return Err(WebError::NotFound);
            }
            Ok(terms::set(conn, &actor, id, &terms)?)
        })
        .await?;
    set_flash(
        &ctx.session,
        FlashKind::Success,
        "settlement_portals.flash.terms",
    );
    Ok(see_other(merchant_page(id)))
}

#[post("/merchants/{id}/settlement/recipients")]
async fn add_recipient(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(form): CsrfForm<RecipientInput>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let (id, actor, keys) = (id.into_inner(), who.actor.clone(), state.keys.clone());
    let result = state
        .db(move |conn| {
            Ok::<_, WebError>(recipients::add(conn, &actor, &keys, id, &form).map(|_| ()))
        })
        .await?;
    flash_outcome(&ctx, result, "settlement_portals.flash.recipient_added")?;
    Ok(see_other(merchant_page(id)))
}

#[post("/merchants/{id}/settlement/recipients/{recipient}/remove")]
async fn remove_recipient(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    path: web::Path<(MerchantId, i64)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let ((id, recipient), actor) = (path.into_inner(), who.actor.clone());
    let result = state
        .db(move |conn| Ok::<_, WebError>(recipients::remove(conn, &actor, id, recipient)))
        .await?;
    flash_outcome(&ctx, result, "settlement_portals.flash.recipient_removed")?;
    Ok(see_other(merchant_page(id)))
}
