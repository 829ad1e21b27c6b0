//! Joining as a member, in two steps. First the mainland mobile number, which
//! gets a one-time code by SMS; then the code, a name, an optional email, a
//! password and consent to the privacy policy. The account exists only once
//! the code proved the number, so nobody can join with a stranger's number.
//!
//! The same pages let the holder of a number a partner enrolled (through the
//! API, never signed up) claim that account: their code is a claim code, and
//! the details they enter complete the existing member instead of a new one.
//! Step one answers the same for every number (see `code_step`); a number
//! that already has an account gets a text saying so instead of a code.

use actix_web::{HttpResponse, get, http::StatusCode, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    domain::{email_address::EmailAddress, password::NewPassword, phone::Phone, portal::Portal},
    error::Classify,
    people::{
        PeopleError,
        member::{self, PRIVACY_POLICY_VERSION, SignUp},
        phone_code::{self, Flow, Purpose},
    },
    web::{
        context::PageContext, csrf::CsrfForm, error::WebError, flash, page::Chrome, state::AppState,
    },
};

use super::{
    super::{see_other, sign_in::start_session, weak_password_key},
    code_step,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_sign_up)
        .service(send_code)
        .service(sign_up);
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/sign_up.html")]
struct SignUpPage {
    chrome: Chrome,
    form: SignUpForm,
    /// Step two (the code and the account's details) rather than step one.
    details: bool,
    /// Says where the code went, right after it was sent.
    notice: Option<String>,
    /// (field, message) pairs, shown next to their fields.
    errors: Vec<(&'static str, String)>,
    policy_version: &'static str,
}

impl SignUpPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Default, Deserialize)]
struct SignUpForm {
    phone: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    consent: Option<String>,
}

#[get("/sign-up")]
async fn show_sign_up(ctx: PageContext) -> SignUpPage {
    page(&ctx, SignUpForm::default(), false, None, Vec::new())
}

/// Step one: texts the number what it calls for, and shows step two.
#[post("/sign-up/code")]
async fn send_code(
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<SignUpForm>,
) -> Result<HttpResponse, WebError> {
    let Ok(phone) = Phone::parse(&form.phone) else {
        let errors = vec![("phone", ctx.locale.t("form.error.phone").into_owned())];
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&ctx, form, false, None, errors),
        );
    };
    match code_step::send(&state, &ctx, &phone, Flow::Join).await? {
        Ok(()) => {
            let notice = code_step::sent_notice(ctx.locale, &phone);
            answer(
                StatusCode::OK,
                &page(&ctx, form, true, Some(notice), Vec::new()),
            )
        }
        Err(refused) => answer(
            refused.status,
            &page(&ctx, form, false, None, vec![("phone", refused.message)]),
        ),
    }
}

/// Step two: the code opens the account (or completes the enrolled one).
#[post("/sign-up")]
async fn sign_up(
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<SignUpForm>,
) -> Result<HttpResponse, WebError> {
    let t = |key: &str| ctx.locale.t(key).into_owned();
    let Ok(phone) = Phone::parse(&form.phone) else {
        let errors = vec![("phone", t("form.error.phone"))];
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&ctx, form, false, None, errors),
        );
    };
    let mut errors = Vec::new();
    if form.code.trim().is_empty() {
        errors.push(("code", t("consumer_phone.error.code")));
    }
    let email = match form.email.trim() {
        "" => None,
        raw => EmailAddress::parse(raw)
            .map_err(|_| errors.push(("email", t("form.error.email"))))
            .ok(),
    };
    let password = NewPassword::parse(&form.password)
        .map_err(|weak| errors.push(("password", t(weak_password_key(weak)))))
        .ok();
    if form.password != form.password_confirm {
        errors.push(("password_confirm", t("auth.error.password_mismatch")));
    }
    if form.display_name.trim().is_empty() {
        errors.push(("display_name", t("people.error.invalid_name")));
    }
    if form.consent.is_none() {
        errors.push(("consent", t("consumer.sign_up.consent_required")));
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&ctx, form, true, None, errors),
        );
    };
    let new = SignUp {
        phone: phone.clone(),
        password,
        display_name: form.display_name.clone(),
        email,
        locale: ctx.locale,
        consent_version: PRIVACY_POLICY_VERSION.to_owned(),
    };
    let (keys, ip, code) = (state.keys.clone(), ctx.ip.clone(), form.code.clone());
    let joined = state
        .db(move |conn| {
            flash::refusal(phone_code::redeem(
                conn,
                &keys,
                &phone,
                Flow::Join,
                &code,
                |conn, purpose| match purpose {
                    Purpose::Claim => {
                        let account = phone_code::account(conn, &keys, &phone)?
                            .filter(|a| !a.claimed)
                            .ok_or(PeopleError::NotFound)?;
                        member::claim(conn, account.member_id, &new, Some(&ip))
                    }
                    _ => member::sign_up(conn, &keys, &new, Some(&ip)),
                },
            ))
        })
        .await?;
    let error = match joined {
        Ok(Ok(member)) => {
            // Signed in straight away, on a fresh session id.
            start_session(&ctx.session, Portal::Consumer, member.id.0)?;
            return Ok(see_other("/consumer"));
        }
        Ok(Err(refused)) => ("code", code_step::code_refused(ctx.locale, refused)),
        // Claimed by someone else between the code and now.
        Err(PeopleError::NotFound) => ("code", t("consumer_phone.error.code")),
        Err(e @ PeopleError::EmailTaken) => ("email", e.message(ctx.locale).unwrap_or_default()),
        Err(e) => ("phone", e.message(ctx.locale).unwrap_or_default()),
    };
    answer(
        StatusCode::UNPROCESSABLE_ENTITY,
        &page(&ctx, form, true, None, vec![error]),
    )
}

fn page(
    ctx: &PageContext,
    form: SignUpForm,
    details: bool,
    notice: Option<String>,
    errors: Vec<(&'static str, String)>,
) -> SignUpPage {
    SignUpPage {
        chrome: ctx.public_chrome(Some(Portal::Consumer)),
        // Secrets are never sent back to the browser.
        form: SignUpForm {
            code: String::new(),
            password: String::new(),
            password_confirm: String::new(),
            ..form
        },
        details,
        notice,
        errors,
        policy_version: PRIVACY_POLICY_VERSION,
    }
}

fn answer(status: StatusCode, page: &SignUpPage) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}
