//! The merchant's reports: the platform's reports narrowed to the signed-in
//! merchant — the liability of its program, redemptions at its stores, its
//! campaigns, its settlement status and its deposit — each with the same
//! filters (less the merchant) and CSV download. Owners and managers read them.

use actix_web::{HttpResponse, get, http::StatusCode, post, web};

use crate::{
    people::merchant_user::MerchantRole,
    report::{FilterQuery, ReportKind},
    web::{
        auth::{MerchantPrincipal, Signed},
        context::PageContext,
        csrf::{CsrfForm, NoFields},
        error::WebError,
        state::AppState,
    },
};

use super::{
    super::report_view::{self, Exporter, IndexPage, Scope},
    form::respond,
};

/// Who sees the merchant's reports: the people who see its money.
pub(super) const REPORT_READERS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];
const BASE: &str = "/merchant/reports";
/// The reports about one merchant.
const KINDS: [ReportKind; 5] = [
    ReportKind::Liability,
    ReportKind::Redemptions,
    ReportKind::Campaigns,
    ReportKind::SettlementStatus,
    ReportKind::DepositCoverage,
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_index)
        .service(show_report)
        .service(export_csv);
}

#[get("/reports")]
async fn show_index(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
) -> Result<HttpResponse, WebError> {
    who.require(REPORT_READERS)?;
    let page = IndexPage::new(super::chrome(&ctx, &who, BASE), BASE, &KINDS);
    respond(StatusCode::OK, &page)
}

fn kind_of(slug: &str) -> Result<ReportKind, WebError> {
    ReportKind::from_slug(slug)
        .filter(|kind| KINDS.contains(kind))
        .ok_or(WebError::NotFound)
}

#[get("/reports/{kind}")]
async fn show_report(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    kind: web::Path<String>,
    query: web::Query<FilterQuery>,
) -> Result<HttpResponse, WebError> {
    who.require(REPORT_READERS)?;
    let kind = kind_of(&kind)?;
    let scope = Scope::Merchant(who.merchant.id);
    let chrome = super::chrome(&ctx, &who, BASE);
    report_view::page(&state, chrome, BASE, kind, query.into_inner(), scope).await
}

/// Starts the report's CSV in the background (`report_view::export`).
#[post("/reports/{kind}/export")]
async fn export_csv(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    kind: web::Path<String>,
    query: web::Query<FilterQuery>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    who.require(REPORT_READERS)?;
    let kind = kind_of(&kind)?;
    let scope = Scope::Merchant(who.merchant.id);
    let chrome = super::chrome(&ctx, &who, BASE);
    let exporter = Exporter {
        requester: super::exports::requester(&who),
        actor: who.actor.clone(),
        exports_base: "/merchant/exports",
    };
    report_view::export(
        &state,
        chrome,
        BASE,
        kind,
        query.into_inner(),
        scope,
        exporter,
    )
    .await
}
