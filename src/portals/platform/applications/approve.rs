//! Approving an application, in two hands: one operator proposes the terms of
//! the merchant's points program, which files an approval request; another
//! decides it in the approvals queue, where the registered action creates the
//! merchant. Then `after_decision` tells the applicant and invites the owner.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    approval::Approval,
    domain::portal::Portal,
    error::Classify,
    i18n::Locale,
    onboarding::{self, OnboardingError, ProgramInput, ProgramTerms},
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

use super::{
    super::super::{
        apply::{field_error, notify_applicant, tier_label, translate},
        invite, see_other,
    },
    super::action::Action,
    Confirm, REVIEWERS, SECTION,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_terms)
        .service(propose_terms)
        .service(invite_owner);
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/application_approve.html")]
struct TermsPage {
    chrome: Chrome,
    id: i64,
    company_name: String,
    tier: String,
    form: ProgramInput,
    errors: Vec<(String, String)>,
}

impl TermsPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

/// What most programs start from; the maker changes what was agreed otherwise.
fn usual_terms() -> ProgramInput {
    ProgramInput {
        settlement_value: "0.01".to_owned(),
        earn_points_per_cny: "1".to_owned(),
        expiry_months: "24".to_owned(),
        exchange_in: true,
        exchange_out: true,
        min_exchange_points: "100".to_owned(),
        max_exchange_points: "100000".to_owned(),
        ..ProgramInput::default()
    }
}

async fn render(
    ctx: &PageContext,
    who: &OperatorPrincipal,
    state: &AppState,
    id: i64,
    form: ProgramInput,
    errors: Vec<(String, String)>,
) -> Result<TermsPage, WebError> {
    let application = state
        .db(move |conn| onboarding::find(conn, id))
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(TermsPage {
        chrome: super::super::chrome(ctx, who, SECTION),
        id,
        tier: tier_label(ctx.locale, application.requested_tier),
        company_name: application.company_name,
        form,
        errors,
    })
}

#[get("/applications/{id}/approve")]
async fn show_terms(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<TermsPage, WebError> {
    who.require(REVIEWERS)?;
    render(
        &ctx,
        &who,
        &state,
        id.into_inner(),
        usual_terms(),
        Vec::new(),
    )
    .await
}

#[post("/applications/{id}/approve")]
async fn propose_terms(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ProgramInput>,
) -> Result<HttpResponse, WebError> {
    who.require(REVIEWERS)?;
    let id = id.into_inner();
    let errors = match ProgramTerms::parse(&form) {
        Ok(terms) => {
            let (actor, policy, registry, keys) = (
                who.actor.clone(),
                state.approval_policy,
                state.approvals.clone(),
                state.keys.clone(),
            );
            let filed = state
                .db(move |conn| {
                    flash::found(onboarding::request_approval(
                        conn, &keys, &actor, id, &terms, policy, &registry,
                    ))
                })
                .await?;
            match filed {
                Ok(_) => {
                    set_flash(
                        &ctx.session,
                        FlashKind::Success,
                        "onboarding.flash.approval_requested",
                    );
                    return Ok(see_other(format!("{SECTION}/{id}")));
                }
                // A taken code is the code's problem; the rest concern the
                // whole application.
                Err(e) => {
                    let field = if matches!(e, OnboardingError::CodeTaken(_)) {
                        "code"
                    } else {
                        "form"
                    };
                    vec![(field.to_owned(), e.message(ctx.locale).unwrap_or_default())]
                }
            }
        }
        Err(errors) => translate(ctx.locale, errors),
    };
    let page = render(&ctx, &who, &state, id, form, errors).await?;
    Ok(HttpResponse::UnprocessableEntity()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

/// A fresh invitation for the owner, when the first was lost or has expired.
#[post("/applications/{id}/invitation")]
async fn invite_owner(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(Confirm {}): CsrfForm<Confirm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, REVIEWERS)?.addressed();
    let id = id.into_inner();
    let ticket = action
        .run(move |conn, actor| onboarding::invite_owner(conn, actor, id))
        .await?;
    let ticket = match ticket {
        Ok(ticket) => invite(&state, Portal::Merchant, ticket).await.map(Ok)?,
        Err(e) => Err(e),
    };
    action.finish(
        ticket,
        |()| "onboarding.flash.invited",
        format!("{SECTION}/{id}"),
    )
}

/// Runs after any approval decision has committed (the approvals page calls
/// it): for an approved onboarding, tells the applicant and invites the owner.
/// The approval stands whatever happens here, so a failure is logged rather
/// than shown; the application page offers to send the invitation again.
pub(in crate::portals::platform) async fn after_decision(state: &AppState, decided: &Approval) {
    let (approval, keys) = (decided.clone(), state.keys.clone());
    let welcomed = async {
        let Some((notice, ticket)) = state
            .db(move |conn| onboarding::welcome(conn, &keys, &approval).map_err(flash::system))
            .await?
        else {
            return Ok(());
        };
        // The application does not record the applicant's language.
        notify_applicant(state, notice, Locale::default()).await?;
        invite(state, Portal::Merchant, ticket).await
    };
    if let Err(e) = welcomed.await {
        tracing::error!(error = ?e, approval = decided.id, "the approved applicant was not emailed");
    }
}
