//! Payouts: the pending payouts, batches with their bank files (CSV and
//! ISO 20022 XML), marking a batch sent, and confirming or failing a payout.

use actix_web::{HttpResponse, get, http::header, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use crate::{
    domain::{money::Money, shanghai},
    i18n::Locale,
    i18n::format,
    settlement::{
        payout::{self, BatchStatus},
        payout_file,
    },
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::{CsrfForm, NoFields},
        error::WebError,
        flash,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    super::super::settlement_view::{PayoutRow, recipients_of},
    super::action::Action,
    LIST_SIZE, PENDING_SCAN, SETTLEMENT_HANDLERS, SETTLEMENT_READERS, can_act, house_account,
    merchant_names,
};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_payouts)
        .service(create_batch)
        .service(batch_csv)
        .service(batch_xml)
        .service(show_batch)
        .service(mark_sent)
        .service(confirm_payout)
        .service(fail_payout);
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
        chrome: super::super::chrome(&ctx, &who, "/platform/settlement"),
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
    const PAYOUTS: &str = "/platform/settlement/payouts";
    let action = Action::of(&ctx, &who, &state, SETTLEMENT_HANDLERS)?;
    let today = shanghai::date_of(Utc::now());
    let date = match form.execution_date.trim() {
        "" => today,
        text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) if date >= today => date,
            _ => return Ok(action.invalid("settlement_portals.error.execution_date", PAYOUTS)),
        },
    };
    let result = action
        .run(move |conn, actor| payout::create_batch(conn, actor, date))
        .await?;
    let to = match &result {
        Ok(Some(batch)) => format!("{PAYOUTS}/batches/{}", batch.id),
        Ok(None) => {
            return Ok(action.invalid("settlement_portals.error.nothing_pending", PAYOUTS));
        }
        Err(_) => PAYOUTS.to_owned(),
    };
    action.finish(result, |_| "settlement_portals.flash.batch_created", to)
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
        chrome: super::super::chrome(&ctx, &who, "/platform/settlement"),
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

fn download(content_type: &str, name: &str, body: Vec<u8>) -> HttpResponse {
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
    let id = id.into_inner();
    Action::of(&ctx, &who, &state, SETTLEMENT_HANDLERS)?
        .done(
            move |conn, actor| payout::mark_sent(conn, actor, id),
            |_| "settlement_portals.flash.sent",
            format!("/platform/settlement/payouts/batches/{id}"),
        )
        .await
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
    let id = id.into_inner();
    Action::of(&ctx, &who, &state, SETTLEMENT_HANDLERS)?
        .done(
            move |conn, actor| payout::confirm(conn, actor, id),
            |_| "settlement_portals.flash.confirmed",
            form.back(),
        )
        .await
}

#[post("/settlement/payouts/{id}/fail")]
async fn fail_payout(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ResolveForm>,
) -> Result<HttpResponse, WebError> {
    let (id, reason, back) = (id.into_inner(), form.reason.clone(), form.back());
    Action::of(&ctx, &who, &state, SETTLEMENT_HANDLERS)?
        .done(
            move |conn, actor| payout::fail(conn, actor, id, &reason),
            |_| "settlement_portals.flash.failed",
            back,
        )
        .await
}
