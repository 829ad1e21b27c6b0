//! Finance's work on deposits: the queue of top-up notices waiting for a bank
//! check (`/platform/deposits`), confirming or rejecting one, filing a
//! deduction for approval, and refunding an exited merchant. The merchant's page
//! (`merchants`) shows the same forms beside the merchant's figures.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    deposit::{self, DepositError},
    domain::{id::MerchantId, money::Money},
    merchant::standing,
    people::operator::OperatorRole,
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

use super::super::{merchant::deposit::TopupRow, see_other};

/// Who moves deposit money: confirms receipts, files deductions, refunds.
pub(super) const DEPOSIT_HANDLERS: &[OperatorRole] = &[OperatorRole::Finance];
/// Who sees the queue: finance, and admins who oversee it.
const QUEUE_READERS: &[OperatorRole] = &[OperatorRole::Finance, OperatorRole::Admin];
const QUEUE_SIZE: i64 = 200;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_queue)
        .service(confirm_topup)
        .service(reject_topup)
        .service(request_deduction)
        .service(refund);
}

/// A notice in the queue, with whose it is.
pub struct QueueRow {
    pub topup: TopupRow,
    pub merchant: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/merchant_deposits.html")]
struct QueuePage {
    chrome: Chrome,
    rows: Vec<QueueRow>,
    can_handle_money: bool,
    /// Decisions return to the queue, not to a merchant's page.
    back: Option<MerchantId>,
}

#[get("/deposits")]
async fn show_queue(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<QueuePage, WebError> {
    who.require(QUEUE_READERS)?;
    let (topups, merchants) = state
        .db(|conn| {
            Ok::<_, WebError>((
                deposit::open_topups(conn, None, QUEUE_SIZE)?,
                standing::list(conn)?,
            ))
        })
        .await?;
    let locale = ctx.locale;
    let names: HashMap<MerchantId, String> = merchants
        .iter()
        .map(|m| (m.id, format!("{} · {}", m.code, m.name(locale))))
        .collect();
    Ok(QueuePage {
        chrome: super::chrome(&ctx, &who, "/platform/merchants"),
        rows: topups
            .iter()
            .map(|t| QueueRow {
                merchant: names.get(&t.merchant_id).cloned().unwrap_or_default(),
                topup: TopupRow::of(t, locale),
            })
            .collect(),
        can_handle_money: DEPOSIT_HANDLERS.contains(&who.operator.role),
        back: None,
    })
}

/// Where a decided notice sends the operator back to: the merchant's page the
/// form was on, else the queue.
#[derive(Deserialize)]
struct Back {
    back: Option<MerchantId>,
}

impl Back {
    fn path(&self) -> String {
        self.back.map_or_else(
            || "/platform/deposits".to_owned(),
            |id| format!("/platform/merchants/{id}"),
        )
    }
}

/// Flashes the outcome: success, or a refusal the person should read; a failure
/// of the system is an error page.
fn flash<T>(
    ctx: &PageContext,
    result: Result<T, DepositError>,
    success: impl FnOnce(&T) -> &'static str,
) -> Result<(), WebError> {
    let key = result.as_ref().map_or("", success);
    flash::outcome(&ctx.session, ctx.locale, result, key)?;
    Ok(())
}

#[post("/deposits/topups/{id}/confirm")]
async fn confirm_topup(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(back): CsrfForm<Back>,
) -> Result<HttpResponse, WebError> {
    who.require(DEPOSIT_HANDLERS)?;
    let (id, actor) = (id.into_inner(), who.actor.clone());
    let result = state
        .db(move |conn| Ok::<_, WebError>(deposit::confirm_topup(conn, &actor, id)))
        .await?;
    flash(&ctx, result, |c| {
        if c.already {
            "deposit.flash.already_confirmed"
        } else {
            "deposit.flash.confirmed"
        }
    })?;
    Ok(see_other(back.path()))
}

#[derive(Deserialize)]
struct RejectForm {
    #[serde(default)]
    reason: String,
    back: Option<MerchantId>,
}

#[post("/deposits/topups/{id}/reject")]
async fn reject_topup(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<RejectForm>,
) -> Result<HttpResponse, WebError> {
    who.require(DEPOSIT_HANDLERS)?;
    let (id, actor, reason) = (id.into_inner(), who.actor.clone(), form.reason);
    let result = state
        .db(move |conn| Ok::<_, WebError>(deposit::reject_topup(conn, &actor, id, &reason)))
        .await?;
    flash(&ctx, result, |_| "deposit.flash.rejected")?;
    Ok(see_other(Back { back: form.back }.path()))
}

#[derive(Deserialize)]
struct DeductionForm {
    amount: String,
    #[serde(default)]
    reason: String,
}

#[post("/merchants/{id}/deduction")]
async fn request_deduction(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(form): CsrfForm<DeductionForm>,
) -> Result<HttpResponse, WebError> {
    who.require(DEPOSIT_HANDLERS)?;
    let id = id.into_inner();
    let back = format!("/platform/merchants/{id}");
    let Ok(amount) = Money::parse(form.amount.trim()) else {
        set_flash(&ctx.session, FlashKind::Error, "deposit.error.amount");
        return Ok(see_other(back));
    };
    let (actor, policy, registry) = (
        who.actor.clone(),
        state.approval_policy,
        state.approvals.clone(),
    );
    let result = state
        .db(move |conn| {
            Ok::<_, WebError>(deposit::request_deduction(
                conn,
                &actor,
                id,
                amount,
                &form.reason,
                policy,
                &registry,
            ))
        })
        .await?;
    flash(&ctx, result, |_| "deposit.flash.deduction_requested")?;
    Ok(see_other(back))
}

#[post("/merchants/{id}/refund")]
async fn refund(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    who.require(DEPOSIT_HANDLERS)?;
    let (id, actor) = (id.into_inner(), who.actor.clone());
    let result = state
        .db(move |conn| Ok::<_, WebError>(deposit::refund(conn, &actor, id)))
        .await?;
    flash(&ctx, result, |_| "deposit.flash.refunded")?;
    Ok(see_other(format!("/platform/merchants/{id}")))
}
