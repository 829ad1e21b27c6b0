//! The exports pages the platform and the merchant console share: a person's
//! exports newest first, one export's progress (the page refreshes itself
//! while it runs, no script needed), and the finished file. Each console's
//! handlers only say who is asking (`Requester`) and under which path; an
//! export someone may not see is "not found".

use actix_web::{
    HttpResponse,
    http::header::{self, ContentDisposition, DispositionParam, DispositionType},
};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    export::{self, Export, ExportId, Requester, Status},
    i18n::Locale,
    i18n::format,
    web::{error::WebError, page::Chrome, state::AppState},
};

/// Exports listed on the list page.
const LISTED: i64 = 50;

/// An export as its pages show it.
pub(super) struct ExportView {
    pub id: ExportId,
    pub title: String,
    pub status: String,
    pub status_css: &'static str,
    pub unfinished: bool,
    pub done: bool,
    /// "1,200 / 5,000" or "1,200" while the total is unknown.
    pub rows: String,
    pub percent: Option<i64>,
    pub failure: Option<String>,
    pub filename: String,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl ExportView {
    fn new(export: &Export, locale: Locale) -> Self {
        let rows = match export.rows_total {
            Some(total) => locale.t_with(
                "exports.rows_of",
                &[
                    ("done", &format::count(export.rows_done)),
                    ("total", &format::count(total)),
                ],
            ),
            None => locale.t_with(
                "exports.rows",
                &[("done", &format::count(export.rows_done))],
            ),
        };
        Self {
            id: export.id,
            title: export.title.clone(),
            status: locale
                .t(&format!("exports.status.{}", export.status.as_str()))
                .into_owned(),
            status_css: match export.status {
                Status::Queued => "status-pending",
                Status::Running => "status-processing",
                Status::Done => "status-approved",
                Status::Failed => "status-failed",
            },
            unfinished: export.status.is_unfinished(),
            done: export.status == Status::Done,
            rows,
            percent: export.percent(),
            failure: export.failure.map(|f| {
                locale
                    .t(&format!("exports.failure.{}", f.as_str()))
                    .into_owned()
            }),
            filename: export.filename.clone(),
            created_at: format::datetime(export.created_at, locale),
            started_at: export.started_at.map(|at| format::datetime(at, locale)),
            finished_at: export.finished_at.map(|at| format::datetime(at, locale)),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "shared/exports.html")]
pub(super) struct ExportsPage {
    chrome: Chrome,
    /// `/platform` or `/merchant`.
    base: &'static str,
    exports: Vec<ExportView>,
    /// Some export is unfinished: the page refreshes itself.
    refresh: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "shared/exports_detail.html")]
pub(super) struct ExportPage {
    chrome: Chrome,
    base: &'static str,
    export: ExportView,
}

pub(super) async fn list_page(
    state: &AppState,
    chrome: Chrome,
    base: &'static str,
    requester: Requester,
) -> Result<ExportsPage, WebError> {
    let exports = state
        .db(move |conn| export::list(conn, requester, LISTED))
        .await?;
    let locale = chrome.locale;
    let exports: Vec<_> = exports.iter().map(|e| ExportView::new(e, locale)).collect();
    Ok(ExportsPage {
        chrome,
        base,
        refresh: exports.iter().any(|e| e.unfinished),
        exports,
    })
}

pub(super) async fn detail_page(
    state: &AppState,
    chrome: Chrome,
    base: &'static str,
    requester: Requester,
    id: i64,
) -> Result<ExportPage, WebError> {
    let found = state
        .db(move |conn| export::find(conn, requester, ExportId(id)))
        .await?
        .ok_or(WebError::NotFound)?;
    let export = ExportView::new(&found, chrome.locale);
    Ok(ExportPage {
        chrome,
        base,
        export,
    })
}

/// The finished file as an attachment; not found while it is unfinished.
pub(super) async fn download(
    state: &AppState,
    requester: Requester,
    id: i64,
) -> Result<HttpResponse, WebError> {
    let file = state
        .db(move |conn| export::open(conn, requester, ExportId(id)))
        .await?
        .ok_or(WebError::NotFound)?;
    // Names are made by code, but a header is no place to trust that.
    let filename: String = file
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filename)],
        })
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(file.bytes))
}
