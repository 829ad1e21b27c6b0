//! The platform's reports (报表): an index of the reports, each report's page
//! with its filters, table and totals, and its CSV download with the same
//! filters. Finance, admins and risk read them; the figures come from
//! `crate::report` through `report_view`.

use actix_web::{HttpResponse, get, http::StatusCode, post, web};

use crate::{
    people::operator::OperatorRole,
    report::{FilterQuery, ReportKind},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::{CsrfForm, NoFields},
        error::WebError,
        state::AppState,
    },
};

use super::super::{
    merchant::form::respond,
    report_view::{self, Exporter, IndexPage, Scope},
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
        .service(export_csv);
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

/// Starts the report's CSV in the background (`report_view::export`).
#[post("/reports/{kind}/export")]
async fn export_csv(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    kind: web::Path<String>,
    query: web::Query<FilterQuery>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    who.require(REPORT_READERS)?;
    let kind = kind_of(&kind)?;
    let scope = Scope::Platform;
    let chrome = super::chrome(&ctx, &who, BASE);
    let exporter = Exporter {
        requester: super::exports::requester(&who),
        actor: who.actor.clone(),
        exports_base: "/platform/exports",
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
