//! The risk alert queue (风险预警): what needs an operator's eye, filtered by
//! status and by the area alerts come from, with acknowledge (someone is on it)
//! and resolve. Alerts are raised by the domains that notice a risk — deposit
//! shortfalls, which also resolve themselves once the deposit is covered again,
//! and abnormal earning, about a member or about a shared device.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel::PgConnection;
use serde::Deserialize;

use crate::{
    crypto::Keys,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        money::Money,
    },
    i18n::Locale,
    i18n::format,
    merchant::standing,
    people::{
        member::{self, Member},
        operator::OperatorRole,
    },
    risk::{self, AlertFilter, AlertStatus, RiskAlert, RiskError, StatusFilter},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::action::Action;

/// Who works the queue; everyone may look.
const RISK_HANDLERS: &[OperatorRole] = &[OperatorRole::Admin, OperatorRole::Risk];
const LIST_SIZE: i64 = 200;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_alerts).service(handle_alert);
}

pub struct AlertRow {
    pub id: i64,
    pub kind: String,
    pub severity: String,
    pub severity_label: String,
    pub merchant_id: Option<MerchantId>,
    pub merchant: String,
    pub member_id: Option<MemberId>,
    /// `138****0000`: enough to tell members apart on the phone, no more.
    pub member_phone: String,
    pub summary: String,
    pub status: AlertStatus,
    /// The style of its status badge.
    pub status_css: &'static str,
    pub status_label: String,
    pub raised: String,
    pub handled_by: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/risk.html")]
struct RiskPage {
    chrome: Chrome,
    rows: Vec<AlertRow>,
    /// The filter bar: (value, label) choices and what is chosen.
    statuses: Vec<(&'static str, String)>,
    families: Vec<(&'static str, String)>,
    status: &'static str,
    family: &'static str,
    can_handle: bool,
}

/// The filter bar; an empty or unknown value leaves the default (unresolved,
/// every family).
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    family: String,
}

impl ListQuery {
    fn filter(&self) -> AlertFilter {
        AlertFilter {
            status: StatusFilter::parse(&self.status).unwrap_or_default(),
            family: risk::FAMILIES.iter().find(|f| **f == self.family).copied(),
        }
    }
}

#[get("/risk")]
async fn list_alerts(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<RiskPage, WebError> {
    let filter = query.filter();
    let shown = filter.clone();
    let (alerts, merchants, members) = state
        .db(move |conn| {
            let alerts = risk::list(conn, &shown, LIST_SIZE)?;
            let member_ids: Vec<MemberId> = alerts.iter().filter_map(|a| a.member_id).collect();
            Ok::<_, WebError>((
                alerts,
                standing::list(conn)?,
                member::find_many(conn, &member_ids)?,
            ))
        })
        .await?;
    let locale = ctx.locale;
    let names: HashMap<MerchantId, String> = merchants
        .iter()
        .map(|m| (m.id, format!("{} · {}", m.code, m.name(locale))))
        .collect();
    let phones = masked_phones(&members, &state.keys);
    Ok(RiskPage {
        chrome: super::chrome(&ctx, &who, "/platform/risk"),
        rows: alerts
            .iter()
            .map(|a| AlertRow {
                id: a.id,
                kind: locale.t(&format!("risk.kind.{}", a.kind)).into_owned(),
                severity: a.severity.clone(),
                severity_label: locale
                    .t(&format!("risk.severity.{}", a.severity))
                    .into_owned(),
                merchant_id: a.merchant_id,
                merchant: a
                    .merchant_id
                    .and_then(|id| names.get(&id).cloned())
                    .unwrap_or_default(),
                member_id: a.member_id,
                member_phone: a
                    .member_id
                    .and_then(|id| phones.get(&id).cloned())
                    .unwrap_or_default(),
                summary: summary(a, locale),
                status: a.status,
                status_css: match a.status {
                    AlertStatus::Open => "pending",
                    AlertStatus::Acknowledged => "processing",
                    AlertStatus::Resolved => "approved",
                },
                status_label: locale.t(&format!("risk.status.{}", a.status)).into_owned(),
                raised: format::datetime(a.created_at, locale),
                handled_by: a.handled_by.clone().unwrap_or_default(),
            })
            .collect(),
        statuses: StatusFilter::ALL
            .into_iter()
            .map(|s| (s.as_str(), status_filter_label(s, locale)))
            .collect(),
        families: risk::FAMILIES
            .iter()
            .map(|f| (*f, locale.t(&format!("risk.family.{f}")).into_owned()))
            .collect(),
        status: filter.status.as_str(),
        family: filter.family.unwrap_or_default(),
        can_handle: RISK_HANDLERS.contains(&who.operator.role),
    })
}

fn status_filter_label(status: StatusFilter, locale: Locale) -> String {
    let key = match status {
        StatusFilter::Unresolved => "risk.unresolved".to_owned(),
        StatusFilter::All => "risk.all".to_owned(),
        status => format!("risk.status.{}", status.as_str()),
    };
    locale.t(&key).into_owned()
}

/// The queue as it was filtered, to return to after handling an alert.
fn queue_path(filter: &AlertFilter) -> String {
    match filter.family {
        Some(family) => format!(
            "/platform/risk?status={}&family={family}",
            filter.status.as_str()
        ),
        None => format!("/platform/risk?status={}", filter.status.as_str()),
    }
}

/// Members' masked phone numbers by id. A number that does not decrypt is
/// logged and left blank: the alert is still worth showing.
fn masked_phones(members: &[Member], keys: &Keys) -> HashMap<MemberId, String> {
    members
        .iter()
        .filter_map(|m| match m.phone(keys) {
            Ok(phone) => Some((m.id, phone.masked())),
            Err(e) => {
                tracing::error!(member_id = %m.id, error = %e, "member phone does not decrypt");
                None
            }
        })
        .collect()
}

/// The alert in the reader's language: `risk.summary.<kind>` filled with the
/// alert's details (see `risk`); the stored summary for a kind the catalog does
/// not know.
fn summary(alert: &RiskAlert, locale: Locale) -> String {
    let key = format!("risk.summary.{}", alert.kind);
    if locale.t(&key) == key {
        return alert.summary.clone();
    }
    let args: Vec<(&str, String)> = alert
        .details
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| match (name.strip_suffix("_fen"), value) {
            (Some(name), serde_json::Value::Number(fen)) => {
                Some((name, format::money(Money::from_fen(fen.as_i64()?))))
            }
            (_, serde_json::Value::Number(n)) => Some((name.as_str(), format::count(n.as_i64()?))),
            (_, serde_json::Value::String(text)) => Some((name.as_str(), text.clone())),
            _ => None,
        })
        .collect();
    let args: Vec<(&str, &str)> = args.iter().map(|(n, v)| (*n, v.as_str())).collect();
    locale.t_with(&key, &args)
}

/// Acknowledge or resolve: (conn, operator, alert).
type AlertChange = fn(&mut PgConnection, &Actor, i64) -> Result<RiskAlert, RiskError>;

#[derive(Deserialize)]
struct HandleForm {
    /// `acknowledge` or `resolve`.
    action: String,
    /// The queue's filter, to return to.
    #[serde(flatten)]
    queue: ListQuery,
}

#[post("/risk/{id}")]
async fn handle_alert(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<HandleForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, RISK_HANDLERS)?.addressed();
    let (change, key): (AlertChange, &str) = match form.action.as_str() {
        "acknowledge" => (risk::acknowledge, "risk.flash.acknowledged"),
        "resolve" => (risk::resolve, "risk.flash.resolved"),
        _ => return Err(WebError::BadRequest),
    };
    let id = id.into_inner();
    action
        .done(
            move |conn, actor| change(conn, actor, id),
            |_| key,
            queue_path(&form.queue.filter()),
        )
        .await
}
