//! Signing in without a password: the number, then the code texted to it.
//!
//! A member whose number was never proven (signed up before codes existed)
//! may have an account someone else opened with their number. Signing in by
//! code proves the number, so it verifies it — and then the password stops
//! working and every other session ends, because whoever chose that password
//! may not be the number's owner (see `member::verify_phone`).

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;

use crate::{
    domain::{phone::Phone, portal::Portal},
    error::Classify,
    people::{
        PeopleError, credentials, member,
        phone_code::{self, Flow},
    },
    web::{context::PageContext, csrf::CsrfForm, error::WebError, flash, session, state::AppState},
};

use super::{
    super::{see_other, sign_in::start_session},
    code_step::{self, CodePage, CodePageKind},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(send).service(finish);
}

#[derive(Deserialize)]
struct CodeForm {
    phone: String,
    #[serde(default)]
    code: String,
}

#[get("/sign-in/code")]
async fn show(ctx: PageContext) -> Result<HttpResponse, WebError> {
    CodePage::new(&ctx, CodePageKind::SignIn, String::new()).answer(actix_web::http::StatusCode::OK)
}

#[post("/sign-in/code/send")]
async fn send(
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, WebError> {
    CodePage::new(&ctx, CodePageKind::SignIn, form.phone)
        .send(&state, &ctx, Flow::SignIn)
        .await
}

#[post("/sign-in/code")]
async fn finish(
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let page = CodePage::new(&ctx, CodePageKind::SignIn, form.phone.clone());
    let Ok(phone) = Phone::parse(&form.phone) else {
        return page.refuse(vec![(
            "code",
            ctx.locale.t("consumer_phone.error.code").into_owned(),
        )]);
    };
    let (keys, ip, code) = (state.keys.clone(), ctx.ip.clone(), form.code);
    let signed_in = state
        .db(move |conn| {
            flash::refusal(phone_code::redeem(
                conn,
                &keys,
                &phone,
                Flow::SignIn,
                &code,
                |conn, _| {
                    let account = phone_code::account(conn, &keys, &phone)?
                        .filter(|a| a.claimed)
                        .ok_or(PeopleError::NotFound)?;
                    let member =
                        member::find(conn, account.member_id)?.ok_or(PeopleError::NotFound)?;
                    if !member.phone_verified() {
                        let actor = member::actor(&member, &phone, Some(&ip));
                        member::verify_phone(conn, &actor, member.id, true)?;
                        session::end_sessions_of(conn, Portal::Consumer, member.id.0)?;
                    }
                    credentials::touch_last_sign_in(conn, Portal::Consumer, member.id.0)?;
                    Ok(member.id)
                },
            ))
        })
        .await?;
    match signed_in {
        Ok(Ok(id)) => {
            start_session(&ctx.session, Portal::Consumer, id.0)?;
            Ok(see_other("/consumer"))
        }
        Ok(Err(refused)) => {
            page.refuse(vec![("code", code_step::code_refused(ctx.locale, refused))])
        }
        Err(PeopleError::NotFound) => page.refuse(vec![(
            "code",
            ctx.locale.t("consumer_phone.error.code").into_owned(),
        )]),
        Err(e) => page.refuse(vec![("code", e.message(ctx.locale).unwrap_or_default())]),
    }
}
