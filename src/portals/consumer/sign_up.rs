//! Joining as a member: a mainland mobile number, a password, a name, an optional
//! email (for password resets) and consent to the privacy policy.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    domain::{email_address::EmailAddress, password::NewPassword, phone::Phone, portal::Portal},
    people::{
        PeopleError,
        member::{self, PRIVACY_POLICY_VERSION, SignUp},
    },
    web::{
        context::PageContext, csrf::CsrfForm, error::WebError, page::Chrome, session,
        state::AppState,
    },
};

use super::super::{people_error_key, refusal, see_other, weak_password_key};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_sign_up).service(sign_up);
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/sign_up.html")]
struct SignUpPage {
    chrome: Chrome,
    form: SignUpForm,
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
    display_name: String,
    email: String,
    password: String,
    password_confirm: String,
    consent: Option<String>,
}

#[get("/sign-up")]
async fn show_sign_up(ctx: PageContext) -> SignUpPage {
    SignUpPage {
        chrome: ctx.public_chrome(Some(Portal::Consumer)),
        form: SignUpForm::default(),
        errors: Vec::new(),
        policy_version: PRIVACY_POLICY_VERSION,
    }
}

#[post("/sign-up")]
async fn sign_up(
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<SignUpForm>,
) -> Result<HttpResponse, WebError> {
    let t = |key: &str| ctx.locale.t(key).into_owned();
    let mut errors = Vec::new();
    let phone = Phone::parse(&form.phone)
        .map_err(|_| errors.push(("phone", t("form.error.phone"))))
        .ok();
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
    let (Some(phone), Some(password), true) = (phone, password, errors.is_empty()) else {
        return refuse(&ctx, form, errors);
    };
    let new = SignUp {
        phone,
        password,
        display_name: form.display_name.clone(),
        email,
        locale: ctx.locale,
        consent_version: PRIVACY_POLICY_VERSION.to_owned(),
    };
    let (keys, ip) = (state.keys.clone(), ctx.ip.clone());
    let created = state
        .db(move |conn| refusal(member::sign_up(conn, &keys, &new, Some(&ip))))
        .await?;
    match created {
        Ok(member) => {
            // Signed in straight away, on a fresh session id.
            ctx.session.renew();
            ctx.session
                .insert(
                    session::PRINCIPAL,
                    session::principal_value(Portal::Consumer, member.id),
                )
                .map_err(|e| WebError::Internal(anyhow::anyhow!(e.to_string())))?;
            Ok(see_other("/consumer"))
        }
        Err(e) => {
            let field = if matches!(e, PeopleError::PhoneTaken) {
                "phone"
            } else {
                "email"
            };
            refuse(&ctx, form, vec![(field, t(people_error_key(&e)))])
        }
    }
}

fn refuse(
    ctx: &PageContext,
    form: SignUpForm,
    errors: Vec<(&'static str, String)>,
) -> Result<HttpResponse, WebError> {
    let page = SignUpPage {
        chrome: ctx.public_chrome(Some(Portal::Consumer)),
        form: SignUpForm {
            password: String::new(),
            password_confirm: String::new(),
            ..form
        },
        errors,
        policy_version: PRIVACY_POLICY_VERSION,
    };
    Ok(HttpResponse::UnprocessableEntity()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}
