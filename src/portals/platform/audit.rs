//! The audit log, searchable by actor, action, target, merchant and time, and
//! exported whole (every event the filter matches) as CSV in the background.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    audit::{self, AuditFilter},
    domain::shanghai,
    export::audit_log,
    export::{ExportSpec, Requester},
    i18n::format,
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::Chrome,
        state::AppState,
    },
};

use super::{super::see_other, AUDIT_READERS};

const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(search_audit).service(export_audit);
}

/// The filter as typed in the form; empty fields do not filter.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub target_kind: String,
    #[serde(default)]
    pub target_id: String,
    #[serde(default)]
    pub merchant_id: String,
    /// Dates (YYYY-MM-DD), in Shanghai time, inclusive.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub until: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        AuditFilter {
            actor: non_empty(&self.actor),
            action: non_empty(&self.action),
            target_kind: non_empty(&self.target_kind),
            target_id: non_empty(&self.target_id),
            merchant_id: self.merchant_id.trim().parse().ok(),
            from: shanghai_midnight(&self.from, 0),
            until: shanghai_midnight(&self.until, 1),
            before_id: self.before,
        }
    }
}

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub before: String,
    pub after: String,
    pub ip: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/audit.html")]
struct AuditPage {
    chrome: Chrome,
    query: AuditQuery,
    rows: Vec<AuditRow>,
    /// The query string for the next (older) page.
    next: Option<String>,
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Midnight in Shanghai at the start of a date, plus `days`.
fn shanghai_midnight(date: &str, days: i64) -> Option<chrono::DateTime<Utc>> {
    let date =
        NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()? + chrono::Duration::days(days);
    Some(shanghai::midnight(date))
}

fn pretty(value: Option<&serde_json::Value>) -> String {
    value
        .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
        .unwrap_or_default()
}

#[get("/audit")]
async fn search_audit(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<AuditPage, WebError> {
    who.require(AUDIT_READERS)?;
    let query = query.into_inner();
    let filter = query.filter();
    let events = state
        .db(move |conn| audit::search(conn, &filter, PAGE_SIZE + 1))
        .await?;
    let has_more = events.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    let rows: Vec<_> = events
        .iter()
        .take(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX))
        .collect();
    let next = if has_more {
        rows.last().map(|last| {
            let params = [
                ("actor", query.actor.as_str()),
                ("action", &query.action),
                ("target_kind", &query.target_kind),
                ("target_id", &query.target_id),
                ("merchant_id", &query.merchant_id),
                ("from", &query.from),
                ("until", &query.until),
                ("before", &last.id.to_string()),
            ];
            serde_urlencoded::to_string(params).unwrap_or_default()
        })
    } else {
        None
    };
    let rows = rows
        .into_iter()
        .map(|e| AuditRow {
            at: format::datetime(e.at, ctx.locale),
            actor: e.actor_label.clone(),
            role: ctx.locale.t(&format!("role.{}", e.actor_role)).into_owned(),
            action: e.action.clone(),
            target: format!("{} {}", e.target_kind, e.target_id.as_deref().unwrap_or("")),
            before: pretty(e.before.as_ref()),
            after: pretty(e.after.as_ref()),
            ip: e.ip.clone().unwrap_or_default(),
        })
        .collect();
    Ok(AuditPage {
        chrome: super::chrome(&ctx, &who, "/platform/audit"),
        query,
        rows,
        next,
    })
}

/// Exports every event the filter matches (not just the page shown) as CSV,
/// in the background, and sends the operator to the export's page.
#[post("/audit/export")]
async fn export_audit(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    form: CsrfForm<AuditQuery>,
) -> Result<HttpResponse, WebError> {
    who.require(AUDIT_READERS)?;
    let query = AuditQuery {
        // The whole result, wherever the page was.
        before: None,
        ..form.0
    };
    let filter = query.filter();
    let locale = ctx.locale;
    let stamp = chrono::Utc::now()
        .with_timezone(&shanghai::offset())
        .format("%Y%m%d-%H%M%S");
    let spec = ExportSpec {
        requester: Requester::Operator(who.operator.id),
        kind: audit_log::KIND.to_owned(),
        title: locale.t("exports.audit.title").into_owned(),
        filename: format!("audit-{stamp}.csv"),
        content_type: "text/csv; charset=utf-8".to_owned(),
        params: serde_json::to_value(&query).map_err(|e| WebError::Internal(e.into()))?,
    };
    let runner = state.exports.clone();
    let actor = who.actor.clone();
    let id = state
        .db(move |conn| {
            runner
                .start(conn, &actor, spec, move |conn, progress| {
                    audit_log::to_csv(conn, &filter, locale, progress)
                })
                .map_err(flash::system)
        })
        .await?;
    Ok(see_other(format!("/platform/exports/{id}")))
}
