//! Signing in and out, and resetting a forgotten password — the same flow on all
//! three portals, mounted in each portal's scope (which says which portal it is).

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel::Connection;
use serde::Deserialize;

use crate::{
    domain::{password::NewPassword, portal::Portal},
    email::{Mailbox, PasswordResetEmail},
    error::Classify,
    people::{
        self,
        credentials::{self, Identifier, SignInError},
        password_reset::{self, RESET_VALIDITY, ResetError},
        second_factor::{self, NextStep},
    },
    web::{
        context::{PageContext, set_flash},
        csrf::{CsrfForm, NoFields},
        error::WebError,
        flash, locale,
        page::{Chrome, FlashKind},
        redirect, session,
        state::AppState,
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_sign_in)
        .service(sign_in)
        .service(sign_out)
        .service(show_reset_request)
        .service(request_reset)
        .service(show_new_password)
        .service(set_new_password);
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    identifier: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct SignInForm {
    identifier: String,
    password: String,
    next: Option<String>,
}

#[get("/sign-in")]
async fn show_sign_in(
    ctx: PageContext,
    portal: web::Data<Portal>,
    query: web::Query<NextQuery>,
) -> SignInPage {
    SignInPage {
        chrome: ctx.public_chrome(Some(**portal)),
        identifier: String::new(),
        next: query.into_inner().next.unwrap_or_default(),
        error: None,
    }
}

#[post("/sign-in")]
async fn sign_in(
    req: HttpRequest,
    ctx: PageContext,
    portal: web::Data<Portal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Result<HttpResponse, WebError> {
    let portal = **portal;
    let failed = |error: SignInError,
                  status: actix_web::http::StatusCode|
     -> Result<HttpResponse, WebError> {
        let page = SignInPage {
            chrome: ctx.public_chrome(Some(portal)),
            identifier: form.identifier.clone(),
            next: form.next.clone().unwrap_or_default(),
            error: error.message(ctx.locale),
        };
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(page.render()?))
    };
    // A name that cannot be anyone's reads as a wrong one.
    let Ok(identifier) = Identifier::parse(portal, &form.identifier) else {
        return failed(
            SignInError::Invalid,
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    let deps = credentials::Deps {
        gate: &state.gate,
        hasher: &state.hasher,
        keys: &state.keys,
    };
    let result = credentials::sign_in(deps, portal, &identifier, &form.password, &ctx.ip).await;
    let id = match result {
        Ok(id) => id,
        Err(e @ SignInError::Invalid) => {
            return failed(e, actix_web::http::StatusCode::UNAUTHORIZED);
        }
        Err(e @ SignInError::Throttled(_)) => {
            return failed(e, actix_web::http::StatusCode::TOO_MANY_REQUESTS);
        }
        Err(SignInError::Database(e)) => return Err(e.into()),
        Err(SignInError::Unavailable(outage)) => return Err(WebError::Unavailable(outage)),
    };
    let next = safe_next(portal, form.next.as_deref());
    let step = match portal {
        Portal::Platform => {
            state
                .db(move |conn| second_factor::next_step(conn, id))
                .await?
        }
        Portal::Merchant | Portal::Consumer => NextStep::SignedIn,
    };
    let location = match step {
        NextStep::SignedIn => {
            start_session(&ctx.session, portal, id)?;
            next
        }
        NextStep::Challenge => super::second_factor::await_code(&ctx.session, id, &next)?,
        NextStep::Enrol => super::second_factor::await_enrolment(&ctx.session, id, &next)?,
    };

    // The language: a choice made on this device wins and is saved; otherwise
    // the person's saved preference applies here too.
    let chosen = req
        .cookie(locale::COOKIE)
        .and_then(|c| c.value().parse().ok());
    let saved = state
        .db(move |conn| match chosen {
            Some(locale) => people::set_locale(conn, portal, id, locale).map(|()| None),
            None => people::locale(conn, portal, id),
        })
        .await?;
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, location));
    if let Some(saved) = saved {
        response.cookie(locale::cookie(
            saved,
            req.connection_info().scheme() == "https",
        ));
    }
    Ok(response.finish())
}

/// A fresh session id on every sign-in (no fixation), with a fresh CSRF token.
pub(super) fn start_session(session: &Session, portal: Portal, id: i64) -> Result<(), WebError> {
    session.renew();
    session.remove(session::CSRF);
    session.remove(session::PENDING);
    session.remove(session::PENDING_NEXT);
    let internal =
        |e: actix_session::SessionInsertError| WebError::Internal(anyhow::anyhow!(e.to_string()));
    session
        .insert(session::PRINCIPAL, session::principal_value(portal, id))
        .map_err(internal)?;
    session
        .insert(session::CSRF, crate::crypto::random_token())
        .map_err(internal)
}

/// Only a path inside the same portal: never another site (open redirect).
fn safe_next(portal: Portal, next: Option<&str>) -> String {
    let home = format!("/{}", portal.slug());
    next.and_then(|next| redirect::local_path(next, &home))
        .map_or(home.clone(), str::to_owned)
}

#[post("/sign-out")]
async fn sign_out(
    ctx: PageContext,
    portal: web::Data<Portal>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> HttpResponse {
    // Deletes the session row: the cookie is worthless from now on.
    ctx.session.purge();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/{}/sign-in", portal.slug())))
        .finish()
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/reset_request.html")]
struct ResetRequestPage {
    chrome: Chrome,
    identifier: String,
    error: Option<String>,
    sent: bool,
}

#[derive(Deserialize)]
struct ResetRequestForm {
    identifier: String,
}

#[get("/password-reset")]
async fn show_reset_request(ctx: PageContext, portal: web::Data<Portal>) -> ResetRequestPage {
    ResetRequestPage {
        chrome: ctx.public_chrome(Some(**portal)),
        identifier: String::new(),
        error: None,
        sent: false,
    }
}

#[post("/password-reset")]
async fn request_reset(
    ctx: PageContext,
    portal: web::Data<Portal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ResetRequestForm>,
) -> Result<ResetRequestPage, WebError> {
    let portal = **portal;
    let Ok(identifier) = Identifier::parse(portal, &form.identifier) else {
        return Ok(ResetRequestPage {
            chrome: ctx.public_chrome(Some(portal)),
            identifier: form.identifier,
            error: Some(ctx.locale.t("auth.error.identifier").into_owned()),
            sent: false,
        });
    };
    let (keys, ip) = (state.keys.clone(), ctx.ip.clone());
    let ticket = state
        .db(move |conn| password_reset::request(conn, &keys, portal, &identifier, &ip))
        .await?;
    if let Some(ticket) = ticket {
        let email = PasswordResetEmail {
            display_name: ticket.display_name.clone(),
            reset_url: format!(
                "{}/{}/password-reset/{}",
                state.public_url,
                portal.slug(),
                ticket.token
            ),
            expires_in_minutes: u32::try_from(RESET_VALIDITY.num_minutes()).unwrap_or(30),
        };
        let to = Mailbox::new(
            Some(ticket.display_name),
            ticket
                .email
                .as_str()
                .parse()
                .map_err(|e: lettre::address::AddressError| WebError::Internal(e.into()))?,
        );
        state
            .mailer
            .send(&to, &email, ticket.locale)
            .await
            .map_err(|e| WebError::Internal(e.into()))?;
    }
    // The same answer whether or not the account exists or its mail was limited.
    Ok(ResetRequestPage {
        chrome: ctx.public_chrome(Some(portal)),
        identifier: String::new(),
        error: None,
        sent: true,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/new_password.html")]
struct NewPasswordPage {
    chrome: Chrome,
    token: String,
    valid: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NewPasswordForm {
    password: String,
    password_confirm: String,
}

#[get("/password-reset/{token}")]
async fn show_new_password(
    ctx: PageContext,
    portal: web::Data<Portal>,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<NewPasswordPage, WebError> {
    let (portal, token) = (**portal, token.into_inner());
    let lookup = token.clone();
    let valid = state
        .db(move |conn| password_reset::is_valid(conn, portal, &lookup))
        .await?;
    Ok(NewPasswordPage {
        chrome: ctx.public_chrome(Some(portal)),
        token,
        valid,
        error: None,
    })
}

#[post("/password-reset/{token}")]
async fn set_new_password(
    ctx: PageContext,
    portal: web::Data<Portal>,
    state: web::Data<AppState>,
    token: web::Path<String>,
    CsrfForm(form): CsrfForm<NewPasswordForm>,
) -> Result<HttpResponse, WebError> {
    let (portal, token) = (**portal, token.into_inner());
    let page_with = |error: String, valid: bool| -> Result<HttpResponse, WebError> {
        let page = NewPasswordPage {
            chrome: ctx.public_chrome(Some(portal)),
            token: token.clone(),
            valid,
            error: Some(error),
        };
        Ok(HttpResponse::UnprocessableEntity()
            .content_type("text/html; charset=utf-8")
            .body(page.render()?))
    };
    if form.password != form.password_confirm {
        return page_with(
            ctx.locale.t("auth.error.password_mismatch").into_owned(),
            true,
        );
    }
    let password = match NewPassword::parse(&form.password) {
        Ok(p) => p,
        Err(weak) => {
            let error = ctx.locale.t(super::weak_password_key(weak)).into_owned();
            return page_with(error, true);
        }
    };
    let (used, locale) = (token.clone(), ctx.locale);
    let result = state
        .db(move |conn| {
            let reset = conn.transaction(|conn| {
                let id = password_reset::complete(conn, portal, &used, &password)?;
                // Whoever knew the old password is signed out everywhere.
                session::end_sessions_of(conn, portal, id)?;
                Ok::<_, ResetError>(id)
            });
            flash::refused(reset, locale)
        })
        .await?;
    if let Err(error) = result {
        return page_with(error, false);
    }
    set_flash(&ctx.session, FlashKind::Success, "auth.password_changed");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/{}/sign-in", portal.slug())))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_portal() {
        assert_eq!(
            safe_next(Portal::Platform, Some("/platform/audit?actor=a")),
            "/platform/audit?actor=a"
        );
        assert_eq!(safe_next(Portal::Platform, Some("/platform")), "/platform");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/merchant",
            "/platformx",
            "/platform//evil",
            "/platform/\\evil",
            "/platform/\t/evil",
        ] {
            assert_eq!(safe_next(Portal::Platform, Some(bad)), "/platform", "{bad}");
        }
        assert_eq!(safe_next(Portal::Consumer, None), "/consumer");
    }
}
