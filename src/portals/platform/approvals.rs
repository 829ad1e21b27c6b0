//! The approvals queue (maker-checker): what waits for a second pair of eyes, and
//! the decision itself.
//!
//! The merchant console's approvals page (`merchant::approvals`) shows its own
//! scope's requests with the same view pieces and templates
//! (`templates/partials/approval_*.html`).

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    approval::{self, Approval, ApprovalError, ApprovalStatus, Decision, Scope},
    domain::{actor::Actor, money::Money},
    i18n::Locale,
    i18n::format,
    web::{
        auth::{OperatorPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::super::see_other;

pub(in crate::portals) const LIST_SIZE: i64 = 100;
const BASE: &str = "/platform/approvals";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_approvals)
        .service(show_approval)
        .service(decide_approval);
}

pub(in crate::portals) struct ApprovalRow {
    pub id: i64,
    pub kind: String,
    pub summary: String,
    pub amount: String,
    pub maker: String,
    pub created: String,
    pub status: ApprovalStatus,
    pub status_label: String,
    pub required: i16,
}

pub(in crate::portals) fn row(a: &Approval, locale: Locale) -> ApprovalRow {
    ApprovalRow {
        id: a.id,
        kind: locale.t(&format!("approval.kind.{}", a.kind)).into_owned(),
        summary: a.summary.clone(),
        amount: a
            .amount_fen
            .map(|fen| format::money(Money::from_fen(fen)))
            .unwrap_or_default(),
        maker: a.maker_label.clone(),
        created: format::datetime(a.created_at, locale),
        status: a.status,
        status_label: locale
            .t(&format!("approval.status.{}", a.status))
            .into_owned(),
        required: a.required_approvals,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/approvals.html")]
struct ApprovalsPage {
    chrome: Chrome,
    /// Where this scope's approvals live, for the shared templates' links.
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
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<ApprovalsPage, WebError> {
    let pending_only = !query.all.unwrap_or(false);
    let approvals = state
        .db(move |conn| approval::list(conn, Scope::Platform, pending_only, LIST_SIZE))
        .await?;
    Ok(ApprovalsPage {
        chrome: super::chrome(&ctx, &who, BASE),
        base: BASE,
        rows: approvals.iter().map(|a| row(a, ctx.locale)).collect(),
        pending_only,
    })
}

pub(in crate::portals) struct DecisionRow {
    pub checker: String,
    pub approve: bool,
    pub reason: String,
    pub at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/approval.html")]
struct ApprovalPage {
    chrome: Chrome,
    base: &'static str,
    approval: ApprovalRow,
    payload: String,
    outcome: String,
    decisions: Vec<DecisionRow>,
    /// This operator may still decide it.
    can_decide: bool,
}

#[get("/approvals/{id}")]
async fn show_approval(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<ApprovalPage, WebError> {
    let id = id.into_inner();
    let (approval, decisions) = state
        .db(move |conn| approval::get(conn, Scope::Platform, id))
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

/// Whether `who` may still decide the request: it is pending, not theirs, not
/// yet decided by them, and their role is one it asks for.
pub(in crate::portals) fn can_decide(
    approval: &Approval,
    decisions: &[Decision],
    who: &Actor,
) -> bool {
    let kind = who.kind.as_str();
    let is = |k: &str, id: i64| k == kind && Some(id) == who.id;
    approval.status == ApprovalStatus::Pending
        && !is(&approval.maker_kind, approval.maker_id)
        && !decisions.iter().any(|d| is(&d.checker_kind, d.checker_id))
        && approval
            .approver_roles
            .iter()
            .flatten()
            .any(|r| *r == who.role)
}

pub(in crate::portals) fn decision_rows(
    decisions: Vec<Decision>,
    locale: Locale,
) -> Vec<DecisionRow> {
    decisions
        .into_iter()
        .map(|d| DecisionRow {
            checker: d.checker_label,
            approve: d.approve,
            reason: d.reason.unwrap_or_default(),
            at: format::datetime(d.decided_at, locale),
        })
        .collect()
}

#[derive(Deserialize)]
pub(in crate::portals) struct DecisionForm {
    pub decision: String,
    pub reason: Option<String>,
}

#[post("/approvals/{id}/decision")]
async fn decide_approval(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<HttpResponse, WebError> {
    let id = id.into_inner();
    let approve = form.approves()?;
    let (actor, registry) = (who.actor.clone(), state.approvals.clone());
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
    if let Ok(decided) = &result {
        super::applications::after_decision(&state, decided).await;
    }
    decision_flash(&ctx, result, approve)?;
    Ok(see_other(format!("{BASE}/{id}")))
}

impl DecisionForm {
    /// `approve` or `reject`; anything else is not this form.
    pub(in crate::portals) fn approves(&self) -> Result<bool, WebError> {
        match self.decision.as_str() {
            "approve" => Ok(true),
            "reject" => Ok(false),
            _ => Err(WebError::BadRequest),
        }
    }
}

/// Flashes what a decision leaves for the next page: its outcome, or the
/// refusal; a failure of the system is an error page.
pub(in crate::portals) fn decision_flash(
    ctx: &PageContext,
    result: Result<Approval, ApprovalError>,
    approve: bool,
) -> Result<(), WebError> {
    let (kind, key) = match result {
        Ok(a) if a.status == ApprovalStatus::Failed => (FlashKind::Error, "approval.flash.failed"),
        Ok(a) if a.status == ApprovalStatus::Pending => {
            (FlashKind::Success, "approval.flash.recorded")
        }
        Ok(_) if approve => (FlashKind::Success, "approval.flash.approved"),
        Ok(_) => (FlashKind::Success, "approval.flash.rejected"),
        Err(ApprovalError::NotFound) => return Err(WebError::NotFound),
        Err(e) => return flash::refused_flash(&ctx.session, ctx.locale, e),
    };
    set_flash(&ctx.session, kind, key);
    Ok(())
}
