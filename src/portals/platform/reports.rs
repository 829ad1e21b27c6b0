//! The platform's reports (报表): an index of the reports, each report's page
//! with its filters, table and totals, and its CSV download with the same
//! filters. Finance, admins and risk read them; the figures come from
//! `crate::report` through `report_view`.

use actix_web::{HttpResponse, get, http::StatusCode, web};

use crate::{
    people::operator::OperatorRole,
    report::{FilterQuery, ReportKind},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        error::WebError,
        state::AppState,
    },
};

use super::super::{
    merchant::form::respond,
    report_view::{self, IndexPage, Scope},
};

/// Who may read the reports.
pub(super) const REPORT_READERS: &[OperatorRole] = &[
    OperatorRole::Finance,
    OperatorRole::Admin,
    OperatorRole::Risk,
];
const BASE: &str = "/platform/reports";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_index)
        .service(show_report)
        .service(download_csv);
}

#[get("/reports")]
async fn show_index(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
) -> Result<HttpResponse, WebError> {
    who.require(REPORT_READERS)?;
    let page = IndexPage::new(super::chrome(&ctx, &who, BASE), BASE, &ReportKind::ALL);
    respond(StatusCode::OK, &page)
}

fn kind_of(slug: &str) -> Result<ReportKind, WebError> {
    ReportKind::from_slug(slug).ok_or(WebError::NotFound)
}

#[get("/reports/{kind}")]
async fn show_report(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    kind: web::Path<String>,
    query: web::Query<FilterQuery>,
) -> Result<HttpResponse, WebError> {
    who.require(REPORT_READERS)?;
    let kind = kind_of(&kind)?;
    let chrome = super::chrome(&ctx, &who, BASE);
    report_view::page(
        &state,
        chrome,
        BASE,
        kind,
        query.into_inner(),
        Scope::Platform,
    )
    .await
}

#[get("/reports/{kind}/csv")]
async fn download_csv(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    kind: web::Path<String>,
    query: web::Query<FilterQuery>,
) -> Result<HttpResponse, WebError> {
    who.require(REPORT_READERS)?;
    let kind = kind_of(&kind)?;
    let chrome = super::chrome(&ctx, &who, BASE);
    report_view::csv(
        &state,
        chrome,
        BASE,
        kind,
        query.into_inner(),
        Scope::Platform,
    )
    .await
}
