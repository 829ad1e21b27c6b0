//! The merchant's own approvals (maker-checker in `Scope::Merchant`): large
//! point adjustments wait here for a second owner or manager. The view pieces
//! and templates are the platform queue's (`platform::approvals`).

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    approval::{self, Scope},
    people::merchant_user::MerchantRole,
    web::{
        auth::{MerchantPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::super::{
    platform::approvals::{
        ApprovalRow, DecisionForm, DecisionRow, LIST_SIZE, can_decide, decision_flash,
        decision_rows, row,
    },
    see_other,
};

/// Who sees and decides the merchant's approvals.
pub(super) const CHECKERS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];
const BASE: &str = "/merchant/approvals";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_approvals)
        .service(show_approval)
        .service(decide_approval);
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/approvals.html")]
struct ApprovalsPage {
    chrome: Chrome,
    base: &'static str,
    rows: Vec<ApprovalRow>,
    pending_only: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    all: Option<bool>,
}

#[get("/approvals")]
async fn list_approvals(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<ApprovalsPage, WebError> {
    who.require(CHECKERS)?;
    let pending_only = !query.all.unwrap_or(false);
    let scope = Scope::Merchant(who.merchant.id);
    let approvals = state
        .db(move |conn| approval::list(conn, scope, pending_only, LIST_SIZE))
        .await?;
    Ok(ApprovalsPage {
        chrome: super::chrome(&ctx, &who, BASE),
        base: BASE,
        rows: approvals.iter().map(|a| row(a, ctx.locale)).collect(),
        pending_only,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/approval.html")]
struct ApprovalPage {
    chrome: Chrome,
    base: &'static str,
    approval: ApprovalRow,
    payload: String,
    outcome: String,
    decisions: Vec<DecisionRow>,
    can_decide: bool,
}

#[get("/approvals/{id}")]
async fn show_approval(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<ApprovalPage, WebError> {
    who.require(CHECKERS)?;
    let (id, scope) = (id.into_inner(), Scope::Merchant(who.merchant.id));
    let (approval, decisions) = state
        .db(move |conn| approval::get(conn, scope, id))
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(ApprovalPage {
        chrome: super::chrome(&ctx, &who, BASE),
        base: BASE,
        can_decide: can_decide(&approval, &decisions, &who.actor),
        payload: serde_json::to_string_pretty(&approval.payload).unwrap_or_default(),
        outcome: approval.outcome.clone().unwrap_or_default(),
        approval: row(&approval, ctx.locale),
        decisions: decision_rows(decisions, ctx.locale),
    })
}

#[post("/approvals/{id}/decision")]
async fn decide_approval(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<HttpResponse, WebError> {
    who.require(CHECKERS)?;
    let id = id.into_inner();
    let approve = form.approves()?;
    let (actor, registry) = (who.actor.clone(), state.approvals.clone());
    // `decide` finds the request only in the checker's own merchant's scope.
    let result = state
        .db(move |conn| {
            Ok::<_, WebError>(approval::decide(
                conn,
                id,
                &actor,
                approve,
                form.reason.as_deref(),
                &registry,
            ))
        })
        .await?;
    decision_flash(&ctx, result, approve)?;
    Ok(see_other(format!("{BASE}/{id}")))
}
