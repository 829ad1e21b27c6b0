//! The platform's reports (报表): an index of the reports, each report's page
//! with its filters, table and totals, and its CSV download with the same
//! filters. Finance, admins and risk read them; the figures come from
//! `crate::report` through `report_view`.

use actix_web::{HttpResponse, get, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    people::operator::OperatorRole,
    report::{self, FilterQuery, ReportKind},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::super::{
    merchant::form::respond,
    report_view::{self, ReportPage, Run, Scope},
};

/// Who may read the reports.
pub(super) const REPORT_READERS: &[OperatorRole] = &[
    OperatorRole::Finance,
    OperatorRole::Admin,
    OperatorRole::Risk,
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_index)
        .service(show_report)
        .service(download_csv);
}

pub struct KindView {
    pub slug: &'static str,
    pub title: String,
    pub description: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/reports/index.html")]
struct IndexPage {
    chrome: Chrome,
    kinds: Vec<KindView>,
}

#[get("/reports")]
async fn show_index(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
) -> Result<IndexPage, WebError> {
    who.require(REPORT_READERS)?;
    let locale = ctx.locale;
    Ok(IndexPage {
        chrome: super::chrome(&ctx, &who, "/platform/reports"),
        kinds: ReportKind::ALL
            .into_iter()
            .map(|kind| KindView {
                slug: kind.slug(),
                title: locale.t(&kind.title_key()).into_owned(),
                description: locale.t(&kind.description_key()).into_owned(),
            })
            .collect(),
    })
}

fn kind_of(slug: &str) -> Result<ReportKind, WebError> {
    ReportKind::from_slug(slug).ok_or(WebError::NotFound)
}

async fn run(
    state: &AppState,
    kind: ReportKind,
    query: FilterQuery,
    locale: crate::i18n::Locale,
) -> Result<Run, WebError> {
    state
        .db(move |conn| report_view::run(conn, kind, &query, Scope::Platform, locale))
        .await
}

fn page(ctx: &PageContext, who: &OperatorPrincipal, kind: ReportKind, run: Run) -> ReportPage {
    ReportPage::new(
        super::chrome(ctx, who, "/platform/reports"),
        "/platform/reports",
        kind,
        run,
    )
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
    let run = run(&state, kind, query.into_inner(), ctx.locale).await?;
    let page = page(&ctx, &who, kind, run);
    respond(page.status(), &page)
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
    let run = run(&state, kind, query.into_inner(), ctx.locale).await?;
    match (run.file_name(kind), &run.built) {
        (Some(name), Some((_, table))) => Ok(super::settlement::download(
            "text/csv; charset=utf-8",
            &name,
            report::csv::to_csv(table),
        )),
        _ => {
            let page = page(&ctx, &who, kind, run);
            respond(page.status(), &page)
        }
    }
}
