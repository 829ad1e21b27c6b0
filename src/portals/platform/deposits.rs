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
    deposit::{self},
    domain::{id::MerchantId, money::Money},
    merchant::standing,
    people::operator::OperatorRole,
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::{CsrfForm, NoFields},
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::{super::merchant::deposit::TopupRow, action::Action};

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

#[post("/deposits/topups/{id}/confirm")]
async fn confirm_topup(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(back): CsrfForm<Back>,
) -> Result<HttpResponse, WebError> {
    let id = id.into_inner();
    Action::of(&ctx, &who, &state, DEPOSIT_HANDLERS)?
        .done(
            move |conn, actor| deposit::confirm_topup(conn, actor, id),
            |c| {
                if c.already {
                    "deposit.flash.already_confirmed"
                } else {
                    "deposit.flash.confirmed"
                }
            },
            back.path(),
        )
        .await
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
    let (id, reason) = (id.into_inner(), form.reason);
    Action::of(&ctx, &who, &state, DEPOSIT_HANDLERS)?
        .done(
            move |conn, actor| deposit::reject_topup(conn, actor, id, &reason),
            |_| "deposit.flash.rejected",
            Back { back: form.back }.path(),
        )
        .await
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
    let action = Action::of(&ctx, &who, &state, DEPOSIT_HANDLERS)?;
    let id = id.into_inner();
    let back = format!("/platform/merchants/{id}");
    let Ok(amount) = Money::parse(form.amount.trim()) else {
        return Ok(action.invalid("deposit.error.amount", back));
    };
    let (policy, registry) = (state.approval_policy, state.approvals.clone());
    action
        .done(
            move |conn, actor| {
                deposit::request_deduction(conn, actor, id, amount, &form.reason, policy, &registry)
            },
            |_| "deposit.flash.deduction_requested",
            back,
        )
        .await
}

#[post("/merchants/{id}/refund")]
async fn refund(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    let id = id.into_inner();
    Action::of(&ctx, &who, &state, DEPOSIT_HANDLERS)?
        .done(
            move |conn, actor| deposit::refund(conn, actor, id),
            |_| "deposit.flash.refunded",
            format!("/platform/merchants/{id}"),
        )
        .await
}
