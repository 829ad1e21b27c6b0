//! Operators (admin only): invite, change roles, deactivate. Making someone an
//! admin is a request that another admin approves.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;

use crate::{
    approval::{self, NewApproval, Scope},
    domain::{email_address::EmailAddress, portal::Portal},
    people::operator::{self, NewOperator, OperatorRole},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::FlashKind,
        session,
        state::AppState,
    },
};

use super::{
    super::{
        invite, see_other,
        team::{InviteForm, Person, PersonFacts, Team, TeamPage, role_options},
    },
    ADMIN,
    action::Action,
};

const PAGE: &str = "/platform/operators";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_operators)
        .service(create_operator)
        .service(change_role)
        .service(set_active);
}

fn team() -> Team {
    Team {
        base: PAGE,
        table_id: "operators",
        nav: "platform.nav.operators",
        title: "platform.operators.title",
        subtitle: "platform.operators.subtitle",
        invite_title: "platform.operators.invite",
        invite_hint: Some("platform.operators.invite_hint"),
        role_hint: Some("platform.operators.admin_hint"),
    }
}

/// Every role may be given on the page (making an admin asks another admin);
/// an invitation gives any but admin.
async fn render(
    ctx: &PageContext,
    who: &OperatorPrincipal,
    state: &AppState,
    form: InviteForm,
) -> Result<TeamPage, WebError> {
    let operators = state.db(operator::list).await?;
    let locale = ctx.locale;
    let roles = OperatorRole::ALL.map(OperatorRole::as_str);
    let team = team();
    Ok(TeamPage {
        chrome: super::chrome(ctx, who, team.base),
        people: operators
            .into_iter()
            .map(|o| {
                let is_me = o.id == who.operator.id;
                let facts = PersonFacts {
                    id: o.id,
                    name: o.display_name,
                    email: o.email,
                    role: o.role.as_str(),
                    active: o.active,
                    last_sign_in_at: o.last_sign_in_at,
                };
                Person::new(facts, is_me, true, locale)
            })
            .collect(),
        team,
        can_manage: true,
        assignable: role_options(roles, locale),
        invitable: role_options(roles.into_iter().filter(|r| *r != "admin"), locale),
        form,
        error: None,
    })
}

#[get("/operators")]
async fn list_operators(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<TeamPage, WebError> {
    who.require(&[OperatorRole::Admin])?;
    let form = InviteForm {
        role: OperatorRole::Operator.as_str().to_owned(),
        ..InviteForm::default()
    };
    render(&ctx, &who, &state, form).await
}

#[post("/operators")]
async fn create_operator(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<HttpResponse, WebError> {
    who.require(&[OperatorRole::Admin])?;
    let refuse = |error: String, form: InviteForm| {
        let (ctx, who, state) = (&ctx, &who, &state);
        async move { render(ctx, who, state, form).await?.refused(error) }
    };
    let Ok(email) = EmailAddress::parse(&form.email) else {
        return refuse(ctx.locale.t("form.error.email").into_owned(), form).await;
    };
    let Some(role) = OperatorRole::parse(&form.role).filter(|r| *r != OperatorRole::Admin) else {
        return refuse(
            ctx.locale.t("platform.operators.error.role").into_owned(),
            form,
        )
        .await;
    };
    let new = NewOperator {
        email,
        display_name: form.display_name.clone(),
        role,
        password: None,
    };
    let (actor, locale) = (who.actor.clone(), ctx.locale);
    let created = state
        .db(move |conn| flash::refused(operator::invite(conn, &actor, &new), locale))
        .await?;
    match created {
        Ok(ticket) => {
            invite(&state, Portal::Platform, ticket).await?;
            set_flash(
                &ctx.session,
                FlashKind::Success,
                "platform.operators.invited",
            );
            Ok(see_other(PAGE))
        }
        Err(error) => refuse(error, form).await,
    }
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

#[post("/operators/{id}/role")]
async fn change_role(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, ADMIN)?;
    let id = id.into_inner();
    let role = OperatorRole::parse(&form.role).ok_or(WebError::BadRequest)?;
    let (registry, policy) = (state.approvals.clone(), state.approval_policy);
    let outcome = action
        .steps(move |conn, actor| {
            let target = operator::find(conn, id)?.ok_or(WebError::NotFound)?;
            if role != OperatorRole::Admin {
                return flash::refusal(
                    operator::change_role(conn, actor, id, role)
                        .map(|_| "platform.operators.role_changed"),
                );
            }
            let request = NewApproval {
                kind: "operator.grant_admin",
                scope: Scope::Platform,
                payload: serde_json::json!({ "operator_id": id }),
                summary: target.email,
                amount: None,
                approver_roles: &["admin"],
            };
            approval::request(conn, actor, &request, policy, &registry).map_err(flash::system)?;
            Ok(Ok("platform.operators.approval_requested"))
        })
        .await?;
    action.finish(outcome, |key| *key, PAGE)
}

#[derive(Deserialize)]
struct ActiveForm {
    active: bool,
}

#[post("/operators/{id}/active")]
async fn set_active(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ActiveForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, ADMIN)?;
    let (id, active) = (id.into_inner(), form.active);
    let outcome = action
        .steps(move |conn, actor| {
            let result = operator::set_active(conn, actor, id, active);
            if result.is_ok() && !active {
                // A deactivated operator is out at once, not at their next request.
                session::end_sessions_of(conn, Portal::Platform, id)?;
            }
            flash::found(result)
        })
        .await?;
    let key = if active {
        "platform.operators.activated"
    } else {
        "platform.operators.deactivated"
    };
    action.finish(outcome, |_| key, PAGE)
}
