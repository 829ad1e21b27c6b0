//! The approvals queue (maker-checker) of one scope: what waits for a second
//! pair of eyes, one request with its decisions, and the decision itself.
//!
//! The platform (`Scope::Platform`) and the merchant console
//! (`Scope::Merchant`) each mount it behind their own sign-in and roles; the
//! pages, rows and the decision are the same code and the same templates.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    approval::{self, Approval, ApprovalError, ApprovalStatus, Decision, Scope},
    domain::{actor::Actor, money::Money},
    i18n::{Locale, format},
    web::{
        context::{PageContext, set_flash},
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

const LIST_SIZE: i64 = 100;

/// One portal's queue: the scope it shows, where it lives and its words.
pub(super) struct Queue {
    pub scope: Scope,
    /// The queue's path, for links and redirects.
    pub base: &'static str,
    /// Catalog keys of the navigation label, the list's title and subtitle.
    pub nav: &'static str,
    pub title: &'static str,
    pub subtitle: &'static str,
}

pub(super) struct ApprovalRow {
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

fn row(a: &Approval, locale: Locale) -> ApprovalRow {
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

pub(super) struct DecisionRow {
    pub checker: String,
    pub approve: bool,
    pub reason: String,
    pub at: String,
}

fn decision_rows(decisions: Vec<Decision>, locale: Locale) -> Vec<DecisionRow> {
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

#[derive(Template, WebTemplate)]
#[template(path = "approvals/list.html")]
pub(super) struct ListPage {
    chrome: Chrome,
    queue: Queue,
    rows: Vec<ApprovalRow>,
    pending_only: bool,
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    all: Option<bool>,
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals/detail.html")]
pub(super) struct DetailPage {
    chrome: Chrome,
    queue: Queue,
    approval: ApprovalRow,
    payload: String,
    outcome: String,
    decisions: Vec<DecisionRow>,
    /// The signed-in person may still decide it.
    can_decide: bool,
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    decision: String,
    reason: Option<String>,
}

impl DecisionForm {
    /// `approve` or `reject`; anything else is not this form.
    fn approves(&self) -> Result<bool, WebError> {
        match self.decision.as_str() {
            "approve" => Ok(true),
            "reject" => Ok(false),
            _ => Err(WebError::BadRequest),
        }
    }
}

impl Queue {
    pub fn link(&self, id: i64) -> String {
        format!("{}/{id}", self.base)
    }

    pub async fn list(
        self,
        state: &AppState,
        chrome: Chrome,
        query: ListQuery,
        locale: Locale,
    ) -> Result<ListPage, WebError> {
        let pending_only = !query.all.unwrap_or(false);
        let scope = self.scope;
        let approvals = state
            .db(move |conn| approval::list(conn, scope, pending_only, LIST_SIZE))
            .await?;
        Ok(ListPage {
            chrome,
            rows: approvals.iter().map(|a| row(a, locale)).collect(),
            queue: self,
            pending_only,
        })
    }

    /// One request of this scope; another scope's id is not found.
    pub async fn detail(
        self,
        state: &AppState,
        chrome: Chrome,
        id: i64,
        who: &Actor,
        locale: Locale,
    ) -> Result<DetailPage, WebError> {
        let scope = self.scope;
        let (approval, decisions) = state
            .db(move |conn| approval::get(conn, scope, id))
            .await?
            .ok_or(WebError::NotFound)?;
        Ok(DetailPage {
            chrome,
            queue: self,
            can_decide: can_decide(&approval, &decisions, who),
            payload: serde_json::to_string_pretty(&approval.payload).unwrap_or_default(),
            outcome: approval.outcome.clone().unwrap_or_default(),
            approval: row(&approval, locale),
            decisions: decision_rows(decisions, locale),
        })
    }

    /// Records `who`'s decision and flashes what it left: its outcome or the
    /// refusal. `approval::decide` finds the request only in the checker's
    /// own scope. The decided request is returned for what a portal does
    /// after it (the platform mails an applicant).
    pub async fn decide(
        &self,
        ctx: &PageContext,
        state: &web::Data<AppState>,
        id: i64,
        who: &Actor,
        form: DecisionForm,
    ) -> Result<Option<Approval>, WebError> {
        let approve = form.approves()?;
        let (actor, registry) = (who.clone(), state.approvals.clone());
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
        let decided = match result {
            Ok(decided) => decided,
            Err(ApprovalError::NotFound) => return Err(WebError::NotFound),
            Err(refused) => {
                flash::refused_flash(&ctx.session, ctx.locale, refused)?;
                return Ok(None);
            }
        };
        let (kind, key) = match decided.status {
            ApprovalStatus::Failed => (FlashKind::Error, "approval.flash.failed"),
            ApprovalStatus::Pending => (FlashKind::Success, "approval.flash.recorded"),
            ApprovalStatus::Approved | ApprovalStatus::Rejected if approve => {
                (FlashKind::Success, "approval.flash.approved")
            }
            ApprovalStatus::Approved | ApprovalStatus::Rejected => {
                (FlashKind::Success, "approval.flash.rejected")
            }
        };
        set_flash(&ctx.session, kind, key);
        Ok(Some(decided))
    }
}

/// Whether `who` may still decide the request: it is pending, not theirs, not
/// yet decided by them, and their role is one it asks for.
fn can_decide(approval: &Approval, decisions: &[Decision], who: &Actor) -> bool {
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
