//! Merchant applications (入驻申请) for operators: the review queue with its
//! filters, one application with its thread, and the review steps — pick it
//! up, ask the applicant for more information, reject it with a reason. Each
//! step emails the applicant. Approving is a maker-checker request (`approve`).

mod approve;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel::PgConnection;
use serde::Deserialize;

pub(super) use approve::after_decision;

use crate::{
    approval::{Approval, ApprovalStatus},
    crypto::Keys,
    domain::actor::Actor,
    error::Classify,
    i18n::Locale,
    i18n::format,
    merchant::{self, tier::Tier},
    onboarding::{
        self, Application, BankAccountNumber, CATEGORIES, Filter, Notice, OnboardingError, Status,
        StoreSite,
    },
    people::{merchant_user::MerchantUser, operator::OperatorRole},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    super::apply::{
        StatusBadge, ThreadEntry, category_label, field_error, notify_applicant, status_badge,
        thread_entries, tier_label,
    },
    action::Action,
};

/// Who reviews applications and proposes (or approves) new merchants.
pub(super) const REVIEWERS: &[OperatorRole] = &[OperatorRole::Admin, OperatorRole::Operator];

const SECTION: &str = "/platform/applications";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_applications)
        .service(show_application)
        .service(start_review)
        .service(ask_more_info)
        .service(reject_application)
        .configure(approve::routes);
}

pub struct QueueRow {
    pub id: i64,
    pub company_name: String,
    pub credit_code: String,
    pub category: String,
    pub tier: String,
    pub contact: String,
    pub submitted: String,
    pub status: StatusBadge,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/applications.html")]
struct QueuePage {
    chrome: Chrome,
    rows: Vec<QueueRow>,
    query: QueueQuery,
    statuses: Vec<(&'static str, String)>,
    tiers: Vec<(&'static str, String)>,
    categories: Vec<(&'static str, String)>,
}

/// The filter bar; an empty or unknown value does not filter.
#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    q: String,
}

impl QueueQuery {
    fn filter(&self) -> Filter {
        let text = self.q.trim();
        Filter {
            status: Status::parse(&self.status),
            tier: Tier::parse(&self.tier),
            category: CATEGORIES
                .contains(&self.category.as_str())
                .then(|| self.category.clone()),
            text: (!text.is_empty()).then(|| text.to_owned()),
        }
    }
}

#[get("/applications")]
async fn list_applications(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<QueueQuery>,
) -> Result<QueuePage, WebError> {
    who.require(REVIEWERS)?;
    let query = query.into_inner();
    let filter = query.filter();
    let applications = state
        .db(move |conn| onboarding::list(conn, &filter))
        .await?;
    let locale = ctx.locale;
    Ok(QueuePage {
        chrome: super::chrome(&ctx, &who, SECTION),
        rows: applications
            .into_iter()
            .map(|a| QueueRow {
                id: a.id,
                category: category_label(locale, &a.category),
                tier: tier_label(locale, a.requested_tier),
                contact: format!("{} · {}", a.contact_name, a.contact_email(&state.keys)),
                submitted: format::datetime(a.created_at, locale),
                status: status_badge(locale, a.status),
                company_name: a.company_name,
                credit_code: a.credit_code,
            })
            .collect(),
        query,
        statuses: Status::ALL
            .into_iter()
            .map(|s| (s.as_str(), status_badge(locale, s).label))
            .collect(),
        tiers: Tier::ALL
            .into_iter()
            .map(|t| (t.as_str(), tier_label(locale, t)))
            .collect(),
        categories: CATEGORIES
            .into_iter()
            .map(|c| (c, category_label(locale, c)))
            .collect(),
    })
}

/// An application as operators read it; the bank account is masked.
pub struct Detail {
    pub id: i64,
    pub company_name: String,
    pub credit_code: String,
    pub category: String,
    pub tier: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub bank_account_name: String,
    pub bank_name: String,
    pub bank_account: String,
    pub status: StatusBadge,
    pub decision_reason: Option<String>,
    pub submitted: String,
    pub updated: String,
    /// Once approved: the merchant it became.
    pub merchant_code: Option<String>,
}

/// The newest approval request filed for the application.
pub struct ApprovalLink {
    pub id: i64,
    pub status: ApprovalStatus,
    pub status_label: String,
    pub outcome: Option<String>,
}

/// What this application allows now.
#[allow(clippy::struct_excessive_bools)] // one switch per button
pub struct Actions {
    pub start_review: bool,
    pub ask: bool,
    pub reject: bool,
    pub approve: bool,
    pub invite_owner: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/application.html")]
struct ApplicationPage {
    chrome: Chrome,
    application: Detail,
    stores: Vec<StoreSite>,
    thread: Vec<ThreadEntry>,
    approval: Option<ApprovalLink>,
    actions: Actions,
    /// What was typed into the question or reason box, when it was refused.
    draft: Option<Draft>,
    errors: Vec<(String, String)>,
}

impl ApplicationPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn draft(&self, field: &str) -> &str {
        self.draft
            .as_ref()
            .filter(|d| d.field == field)
            .map_or("", |d| d.text.as_str())
    }
}

/// A message box's text, to show again with its error.
struct Draft {
    field: &'static str,
    text: String,
}

/// Everything the page shows, read in one go.
struct Loaded {
    application: Application,
    thread: Vec<onboarding::Message>,
    approval: Option<Approval>,
    merchant_code: Option<String>,
    owner: Option<MerchantUser>,
}

fn load(conn: &mut PgConnection, id: i64) -> Result<Loaded, WebError> {
    let application = onboarding::find(conn, id)?.ok_or(WebError::NotFound)?;
    let merchant_code = match application.merchant_id {
        Some(merchant_id) => merchant::find(conn, merchant_id)?.map(|m| m.code),
        None => None,
    };
    Ok(Loaded {
        thread: onboarding::thread(conn, id)?,
        approval: onboarding::latest_approval(conn, id)?,
        owner: onboarding::owner(conn, &application)?,
        merchant_code,
        application,
    })
}

async fn render(
    ctx: &PageContext,
    who: &OperatorPrincipal,
    state: &AppState,
    id: i64,
    draft: Option<Draft>,
    errors: Vec<(String, String)>,
) -> Result<ApplicationPage, WebError> {
    let loaded = state.db(move |conn| load(conn, id)).await?;
    let locale = ctx.locale;
    let application = &loaded.application;
    let status = application.status;
    let pending = loaded
        .approval
        .as_ref()
        .is_some_and(|a| a.status == ApprovalStatus::Pending);
    let actions = Actions {
        start_review: status == Status::Submitted && !pending,
        ask: status.is_open() && !pending,
        reject: status.is_open() && !pending,
        approve: status == Status::UnderReview && !pending,
        // Until the owner has signed in once, the invitation may have gone astray.
        invite_owner: loaded
            .owner
            .as_ref()
            .is_some_and(|o| o.last_sign_in_at.is_none()),
    };
    Ok(ApplicationPage {
        chrome: super::chrome(ctx, who, SECTION),
        stores: application
            .store_sites()
            .map_err(|e| WebError::Internal(e.into()))?,
        application: detail(&loaded, &state.keys, locale)?,
        thread: thread_entries(loaded.thread, locale, true),
        approval: loaded.approval.map(|a| ApprovalLink {
            id: a.id,
            status_label: locale
                .t(&format!("approval.status.{}", a.status))
                .into_owned(),
            status: a.status,
            outcome: a.outcome,
        }),
        actions,
        draft,
        errors,
    })
}

fn detail(loaded: &Loaded, keys: &Keys, locale: Locale) -> Result<Detail, WebError> {
    let a = &loaded.application;
    let bank_account = BankAccountNumber::open(keys, &a.bank_account_ciphertext)
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(Detail {
        id: a.id,
        company_name: a.company_name.clone(),
        credit_code: a.credit_code.clone(),
        category: category_label(locale, &a.category),
        tier: tier_label(locale, a.requested_tier),
        contact_name: a.contact_name.clone(),
        contact_phone: a.contact_phone(keys),
        contact_email: a.contact_email(keys),
        bank_account_name: a.bank_account_name.clone(),
        bank_name: a.bank_name.clone(),
        bank_account: bank_account.masked(),
        status: status_badge(locale, a.status),
        decision_reason: a.decision_reason.clone(),
        submitted: format::datetime(a.created_at, locale),
        updated: format::datetime(a.updated_at, locale),
        merchant_code: loaded.merchant_code.clone(),
    })
}

#[get("/applications/{id}")]
async fn show_application(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<ApplicationPage, WebError> {
    who.require(REVIEWERS)?;
    render(&ctx, &who, &state, id.into_inner(), None, Vec::new()).await
}

/// A form whose button is the whole message (besides its CSRF token).
#[derive(Deserialize)]
struct Confirm {}

#[post("/applications/{id}/review")]
async fn start_review(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(Confirm {}): CsrfForm<Confirm>,
) -> Result<HttpResponse, WebError> {
    let id = id.into_inner();
    review_step(
        &ctx,
        &who,
        &state,
        id,
        "onboarding.flash.review_started",
        None,
        move |conn, keys, actor| onboarding::start_review(conn, keys, actor, id),
    )
    .await
}

#[derive(Deserialize)]
struct QuestionForm {
    question: String,
}

#[post("/applications/{id}/more-info")]
async fn ask_more_info(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<QuestionForm>,
) -> Result<HttpResponse, WebError> {
    let id = id.into_inner();
    let question = form.question.clone();
    review_step(
        &ctx,
        &who,
        &state,
        id,
        "onboarding.flash.asked",
        Some(Draft {
            field: "question",
            text: form.question,
        }),
        move |conn, keys, actor| onboarding::ask_more_info(conn, keys, actor, id, &question),
    )
    .await
}

#[derive(Deserialize)]
struct ReasonForm {
    reason: String,
}

#[post("/applications/{id}/reject")]
async fn reject_application(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<HttpResponse, WebError> {
    let id = id.into_inner();
    let reason = form.reason.clone();
    review_step(
        &ctx,
        &who,
        &state,
        id,
        "onboarding.flash.rejected",
        Some(Draft {
            field: "reason",
            text: form.reason,
        }),
        move |conn, keys, actor| onboarding::reject(conn, keys, actor, id, &reason),
    )
    .await
}

/// Runs one review step and emails the applicant. An empty question or reason
/// comes back on the page next to its box (422); other refusals (the
/// application moved on meanwhile) as a message on the page.
async fn review_step(
    ctx: &PageContext,
    who: &OperatorPrincipal,
    state: &AppState,
    id: i64,
    done: &str,
    draft: Option<Draft>,
    step: impl FnOnce(&mut PgConnection, &Keys, &Actor) -> Result<Notice, OnboardingError>
    + Send
    + 'static,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(ctx, who, state, REVIEWERS)?.addressed();
    let keys = state.keys.clone();
    let outcome = action
        .run(move |conn, actor| step(conn, &keys, actor))
        .await?;
    let outcome = match outcome {
        Ok(notice) => {
            // The application does not record the applicant's language; the
            // product's default is what most of them read.
            notify_applicant(state, notice, Locale::default()).await?;
            Ok(())
        }
        Err(e @ OnboardingError::InvalidMessage) => {
            let field = draft.as_ref().map_or("", |d| d.field);
            let errors = vec![(field.to_owned(), e.message(ctx.locale).unwrap_or_default())];
            let page = render(ctx, who, state, id, draft, errors).await?;
            return Ok(HttpResponse::UnprocessableEntity()
                .content_type("text/html; charset=utf-8")
                .body(page.render()?));
        }
        Err(e) => Err(e),
    };
    action.finish(outcome, |()| done, format!("{SECTION}/{id}"))
}
