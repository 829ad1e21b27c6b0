//! The merchant's staff: the owner invites managers and cashiers, changes their
//! roles and deactivates them. Everything is scoped to the signed-in merchant: an
//! id of another merchant's user is simply not found.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;

use crate::{
    domain::{email_address::EmailAddress, portal::Portal},
    people::{
        PeopleError,
        merchant_user::{self, MerchantRole, NewMerchantUser},
    },
    web::{
        auth::{MerchantPrincipal, Signed},
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
    STAFF_READERS,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_staff)
        .service(invite_staff)
        .service(change_role)
        .service(set_active);
}

fn team() -> Team {
    Team {
        base: "/merchant/staff",
        table_id: "staff",
        nav: "merchant.nav.staff",
        title: "merchant.staff.title",
        subtitle: "merchant.staff.subtitle",
        invite_title: "merchant.staff.invite",
        invite_hint: None,
        role_hint: None,
    }
}

/// Roles the owner may give.
const STAFF_ROLES: [MerchantRole; 2] = [MerchantRole::Manager, MerchantRole::Cashier];

/// Managers read the page; the owner changes it, never their own row or
/// ownership.
async fn render(
    ctx: &PageContext,
    who: &MerchantPrincipal,
    state: &AppState,
    form: InviteForm,
) -> Result<TeamPage, WebError> {
    let merchant_id = who.merchant.id;
    let users = state
        .db(move |conn| merchant_user::list(conn, merchant_id))
        .await?;
    let locale = ctx.locale;
    let can_manage = who.user.role == MerchantRole::Owner;
    let roles = role_options(STAFF_ROLES.map(MerchantRole::as_str), locale);
    let team = team();
    Ok(TeamPage {
        chrome: super::chrome(ctx, who, team.base),
        people: users
            .into_iter()
            .map(|u| {
                let editable = can_manage && u.role != MerchantRole::Owner;
                let is_me = u.id == who.user.id;
                let facts = PersonFacts {
                    id: u.id,
                    name: u.display_name,
                    email: u.email,
                    role: u.role.as_str(),
                    active: u.active,
                    last_sign_in_at: u.last_sign_in_at,
                };
                Person::new(facts, is_me, editable, locale)
            })
            .collect(),
        team,
        can_manage,
        assignable: roles.clone(),
        invitable: roles,
        form,
        error: None,
    })
}

#[get("/staff")]
async fn list_staff(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<TeamPage, WebError> {
    who.require(STAFF_READERS)?;
    let form = InviteForm {
        role: MerchantRole::Cashier.as_str().to_owned(),
        ..InviteForm::default()
    };
    render(&ctx, &who, &state, form).await
}

#[post("/staff")]
async fn invite_staff(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<HttpResponse, WebError> {
    who.require(&[MerchantRole::Owner])?;
    let refuse = |error: String, form: InviteForm| {
        let (ctx, who, state) = (&ctx, &who, &state);
        async move { render(ctx, who, state, form).await?.refused(error) }
    };
    let Ok(email) = EmailAddress::parse(&form.email) else {
        return refuse(ctx.locale.t("form.error.email").into_owned(), form).await;
    };
    let Some(role) = MerchantRole::parse(&form.role).filter(|r| STAFF_ROLES.contains(r)) else {
        return refuse(ctx.locale.t("merchant.staff.error.role").into_owned(), form).await;
    };
    let new = NewMerchantUser {
        email,
        display_name: form.display_name.clone(),
        role,
        password: None,
    };
    let (actor, merchant_id, locale) = (who.actor.clone(), who.merchant.id, ctx.locale);
    let created = state
        .db(move |conn| {
            flash::refused(
                merchant_user::invite(conn, &actor, merchant_id, &new),
                locale,
            )
        })
        .await?;
    match created {
        Ok(ticket) => {
            invite(&state, Portal::Merchant, ticket).await?;
            set_flash(&ctx.session, FlashKind::Success, "merchant.staff.invited");
            Ok(see_other("/merchant/staff"))
        }
        Err(error) => refuse(error, form).await,
    }
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

#[post("/staff/{id}/role")]
async fn change_role(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<HttpResponse, WebError> {
    who.require(&[MerchantRole::Owner])?;
    let role = MerchantRole::parse(&form.role).ok_or(WebError::BadRequest)?;
    let (id, actor, merchant_id) = (id.into_inner(), who.actor.clone(), who.merchant.id);
    let result = state
        .db(move |conn| {
            flash::found(merchant_user::change_role(
                conn,
                &actor,
                merchant_id,
                id,
                role,
            ))
        })
        .await?;
    flash_outcome(&ctx, result.map(|_| "merchant.staff.role_changed"))?;
    Ok(see_other("/merchant/staff"))
}

#[derive(Deserialize)]
struct ActiveForm {
    active: bool,
}

#[post("/staff/{id}/active")]
async fn set_active(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ActiveForm>,
) -> Result<HttpResponse, WebError> {
    who.require(&[MerchantRole::Owner])?;
    let (id, actor, merchant_id) = (id.into_inner(), who.actor.clone(), who.merchant.id);
    let result = state
        .db(move |conn| {
            let result = merchant_user::set_active(conn, &actor, merchant_id, id, form.active);
            if result.is_ok() && !form.active {
                session::end_sessions_of(conn, Portal::Merchant, id)?;
            }
            flash::found(result)
        })
        .await?;
    flash_outcome(
        &ctx,
        result.map(|_| {
            if form.active {
                "merchant.staff.activated"
            } else {
                "merchant.staff.deactivated"
            }
        }),
    )?;
    Ok(see_other("/merchant/staff"))
}

/// Another merchant's user is "not found" (the 404 page `flash::found` made
/// of it), never "forbidden": ids reveal nothing.
fn flash_outcome(ctx: &PageContext, result: Result<&str, PeopleError>) -> Result<(), WebError> {
    match result {
        Ok(key) => set_flash(&ctx.session, FlashKind::Success, key),
        Err(e) => flash::refused_flash(&ctx.session, ctx.locale, e)?,
    }
    Ok(())
}
