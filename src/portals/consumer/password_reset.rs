//! A forgotten password, reset by SMS code: the number, then the code with the
//! new password. Mounted before the shared email-link reset, which the member
//! app no longer offers (a member's email may be one a stranger typed when
//! opening an account with their number; the number is what proves them).
//! Resetting proves the number, and signs the member out everywhere.

use actix_web::{HttpResponse, get, http::header, post, web};
use serde::Deserialize;

use crate::{
    crypto,
    domain::{password::NewPassword, phone::Phone, portal::Portal},
    error::Classify,
    people::{
        PeopleError, credentials, member,
        phone_code::{self, Flow},
    },
    web::{
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
    super::weak_password_key,
    code_step::{self, CodePage, CodePageKind},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(send).service(finish);
}

#[derive(Deserialize)]
struct ResetForm {
    phone: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

#[get("/password-reset")]
async fn show(ctx: PageContext) -> Result<HttpResponse, WebError> {
    CodePage::new(&ctx, CodePageKind::Reset, String::new()).answer(actix_web::http::StatusCode::OK)
}

#[post("/password-reset")]
async fn send(
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<HttpResponse, WebError> {
    CodePage::new(&ctx, CodePageKind::Reset, form.phone)
        .send(&state, &ctx, Flow::Reset)
        .await
}

#[post("/password-reset/sms")]
async fn finish(
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<HttpResponse, WebError> {
    let t = |key: &str| ctx.locale.t(key).into_owned();
    let page = CodePage::new(&ctx, CodePageKind::Reset, form.phone.clone());
    let Ok(phone) = Phone::parse(&form.phone) else {
        return page.refuse(vec![("code", t("consumer_phone.error.code"))]);
    };
    let mut errors = Vec::new();
    let password = NewPassword::parse(&form.password)
        .map_err(|weak| errors.push(("password", t(weak_password_key(weak)))))
        .ok();
    if form.password != form.password_confirm {
        errors.push(("password_confirm", t("auth.error.password_mismatch")));
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        return page.refuse(errors);
    };
    let (keys, ip, code) = (state.keys.clone(), ctx.ip.clone(), form.code);
    let reset = state
        .db(move |conn| {
            flash::refusal(phone_code::redeem(
                conn,
                &keys,
                &phone,
                Flow::Reset,
                &code,
                |conn, _| {
                    let account = phone_code::account(conn, &keys, &phone)?
                        .filter(|a| a.claimed)
                        .ok_or(PeopleError::NotFound)?;
                    let member =
                        member::find(conn, account.member_id)?.ok_or(PeopleError::NotFound)?;
                    let hash = crypto::hash_password(password.expose());
                    credentials::set_password_hash(conn, Portal::Consumer, member.id.0, &hash)?;
                    if !member.phone_verified() {
                        let actor = member::actor(&member, &phone, Some(&ip));
                        member::verify_phone(conn, &actor, member.id, false)?;
                    }
                    // Whoever knew the old password is signed out everywhere.
                    session::end_sessions_of(conn, Portal::Consumer, member.id.0)?;
                    Ok(())
                },
            ))
        })
        .await?;
    match reset {
        Ok(Ok(())) => {
            set_flash(&ctx.session, FlashKind::Success, "auth.password_changed");
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/consumer/sign-in"))
                .finish())
        }
        Ok(Err(refused)) => {
            page.refuse(vec![("code", code_step::code_refused(ctx.locale, refused))])
        }
        Err(PeopleError::NotFound) => page.refuse(vec![("code", t("consumer_phone.error.code"))]),
        Err(e) => page.refuse(vec![("code", e.message(ctx.locale).unwrap_or_default())]),
    }
}
