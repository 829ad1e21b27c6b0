//! The audit log, searchable by actor, action, target, merchant and time.

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use crate::{
    audit::{self, AuditFilter},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        error::WebError,
        format,
        page::Chrome,
        state::AppState,
    },
};

use super::AUDIT_READERS;

const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(search_audit);
}

/// The filter as typed in the form; empty fields do not filter.
#[derive(Debug, Default, Deserialize)]
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
    pub before: Option<i64>,
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
    let shanghai = chrono::FixedOffset::east_opt(8 * 3600)?;
    Some(
        shanghai
            .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
            .single()?
            .with_timezone(&Utc),
    )
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
    let filter = AuditFilter {
        actor: non_empty(&query.actor),
        action: non_empty(&query.action),
        target_kind: non_empty(&query.target_kind),
        target_id: non_empty(&query.target_id),
        merchant_id: query.merchant_id.trim().parse().ok(),
        from: shanghai_midnight(&query.from, 0),
        until: shanghai_midnight(&query.until, 1),
        before_id: query.before,
    };
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
