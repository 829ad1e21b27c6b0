//! The platform's second sign-in step: a code from the operator's authenticator
//! app (or a recovery code), and setting the app up — which admins and finance
//! must do right after their password, before anything else. Until the step
//! passes the session holds only a pending operator, who can open nothing.

use actix_session::Session;
use actix_web::{HttpResponse, get, http::StatusCode, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    domain::portal::Portal,
    error::Classify,
    people::{
        operator::{self, Operator},
        second_factor::{self, FactorError},
    },
    web::{
        auth::principal_id, context::PageContext, csrf::CsrfForm, error::WebError, flash,
        page::Chrome, qr, session, state::AppState,
    },
};

use super::{see_other, sign_in::start_session};

const CHALLENGE: &str = "/platform/second-factor";
const ENROL: &str = "/platform/second-factor/enrol";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_challenge)
        .service(answer_challenge)
        .service(show_enrolment)
        .service(confirm_enrolment);
}

/// After the password: waits for a code; returns where to go.
pub(super) fn await_code(session: &Session, id: i64, next: &str) -> Result<String, WebError> {
    pend(session, id, next)?;
    Ok(CHALLENGE.to_owned())
}

/// After the password, for an operator who must set a second factor up first.
pub(super) fn await_enrolment(session: &Session, id: i64, next: &str) -> Result<String, WebError> {
    pend(session, id, next)?;
    Ok(ENROL.to_owned())
}

/// A fresh session id (no fixation) holding the pending operator only.
fn pend(session: &Session, id: i64, next: &str) -> Result<(), WebError> {
    session.renew();
    session.remove(session::PRINCIPAL);
    let internal =
        |e: actix_session::SessionInsertError| WebError::Internal(anyhow::anyhow!(e.to_string()));
    session
        .insert(
            session::PENDING,
            session::principal_value(Portal::Platform, id),
        )
        .map_err(internal)?;
    session
        .insert(session::PENDING_NEXT, next)
        .map_err(internal)
}

/// The operator between password and second factor, if any.
fn pending(session: &Session) -> Option<i64> {
    let stored = session.get::<String>(session::PENDING).ok().flatten()?;
    let (slug, id) = stored.split_once(':')?;
    (slug == Portal::Platform.slug())
        .then(|| id.parse().ok())
        .flatten()
}

/// Signs the pending operator in; returns where they were going.
fn complete(session: &Session, id: i64) -> Result<String, WebError> {
    let next = session
        .get::<String>(session::PENDING_NEXT)
        .ok()
        .flatten()
        .unwrap_or_else(|| "/platform".to_owned());
    start_session(session, Portal::Platform, id)?;
    Ok(next)
}

async fn load(state: &AppState, id: i64) -> Result<Option<Operator>, WebError> {
    state
        .db(move |conn| operator::find(conn, id))
        .await
        .map(|found| found.filter(|o| o.active))
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/second_factor.html")]
struct ChallengePage {
    chrome: Chrome,
    error: Option<String>,
}

#[get("/second-factor")]
async fn show_challenge(ctx: PageContext) -> Result<HttpResponse, WebError> {
    if pending(&ctx.session).is_none() {
        return Ok(see_other("/platform/sign-in".to_owned()));
    }
    render(
        StatusCode::OK,
        &ChallengePage {
            chrome: ctx.public_chrome(Some(Portal::Platform)),
            error: None,
        },
    )
}

#[post("/second-factor")]
async fn answer_challenge(
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let Some(id) = pending(&ctx.session) else {
        return Ok(see_other("/platform/sign-in".to_owned()));
    };
    let Some(operator) = load(&state, id).await? else {
        ctx.session.purge();
        return Ok(see_other("/platform/sign-in".to_owned()));
    };
    let (keys, ip) = (state.keys.clone(), ctx.ip.clone());
    let checked = state
        .db(move |conn| {
            flash::refusal(second_factor::throttled(conn, operator.id, &ip, |conn| {
                second_factor::verify(conn, &keys, &operator, &form.code)
            }))
        })
        .await?;
    match checked {
        Ok(()) => Ok(see_other(complete(&ctx.session, id)?)),
        Err(FactorError::NotEnrolling) => Ok(see_other(ENROL.to_owned())),
        Err(e) => render(
            refusal_status(&e),
            &ChallengePage {
                chrome: ctx.public_chrome(Some(Portal::Platform)),
                error: e.message(ctx.locale),
            },
        ),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/second_factor_enrol.html")]
struct EnrolPage {
    chrome: Chrome,
    qr: String,
    secret: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/recovery_codes.html")]
struct RecoveryCodesPage {
    chrome: Chrome,
    codes: Vec<String>,
    next: String,
}

/// Who is setting a factor up: the pending operator, or one signed in who
/// chose to.
fn enrolling(session: &Session) -> Option<(i64, bool)> {
    pending(session)
        .map(|id| (id, true))
        .or_else(|| principal_id(session, Portal::Platform).map(|id| (id, false)))
}

#[get("/second-factor/enrol")]
async fn show_enrolment(
    ctx: PageContext,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let Some((id, _)) = enrolling(&ctx.session) else {
        return Ok(see_other("/platform/sign-in".to_owned()));
    };
    let Some(operator) = load(&state, id).await? else {
        ctx.session.purge();
        return Ok(see_other("/platform/sign-in".to_owned()));
    };
    enrolment_page(&ctx, &state, operator, StatusCode::OK, None).await
}

async fn enrolment_page(
    ctx: &PageContext,
    state: &AppState,
    operator: Operator,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let keys = state.keys.clone();
    let enrolment = state
        .db(move |conn| flash::refusal(second_factor::enrolment(conn, &keys, &operator)))
        .await?;
    let enrolment = match enrolment {
        Ok(enrolment) => enrolment,
        // Set up already: the code page (pending) or home (signed in) applies.
        Err(_) if pending(&ctx.session).is_some() => return Ok(see_other(CHALLENGE.to_owned())),
        Err(_) => return Ok(see_other("/platform".to_owned())),
    };
    render(
        status,
        &EnrolPage {
            chrome: ctx.public_chrome(Some(Portal::Platform)),
            qr: qr::svg(&enrolment.otpauth_url)?,
            secret: spaced(&enrolment.secret_base32),
            error,
        },
    )
}

#[post("/second-factor/enrol")]
async fn confirm_enrolment(
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let Some((id, was_pending)) = enrolling(&ctx.session) else {
        return Ok(see_other("/platform/sign-in".to_owned()));
    };
    let Some(operator) = load(&state, id).await? else {
        ctx.session.purge();
        return Ok(see_other("/platform/sign-in".to_owned()));
    };
    let (keys, ip, who) = (state.keys.clone(), ctx.ip.clone(), operator.clone());
    let confirmed = state
        .db(move |conn| {
            flash::refusal(second_factor::throttled(conn, who.id, &ip, |conn| {
                second_factor::confirm(conn, &keys, &who, &form.code)
            }))
        })
        .await?;
    let codes = match confirmed {
        Ok(codes) => codes,
        Err(e) => {
            let error = e.message(ctx.locale);
            return enrolment_page(&ctx, &state, operator, refusal_status(&e), error).await;
        }
    };
    let next = if was_pending {
        complete(&ctx.session, id)?
    } else {
        "/platform".to_owned()
    };
    render(
        StatusCode::OK,
        &RecoveryCodesPage {
            chrome: ctx.public_chrome(Some(Portal::Platform)),
            codes,
            next,
        },
    )
}

/// Too many attempts wait; any other refusal is a code not taken.
fn refusal_status(e: &FactorError) -> StatusCode {
    match e {
        FactorError::Throttled => StatusCode::TOO_MANY_REQUESTS,
        FactorError::WrongCode
        | FactorError::NotEnrolling
        | FactorError::AlreadyActive
        | FactorError::Crypto(_)
        | FactorError::Secret(_)
        | FactorError::Database(_) => StatusCode::UNAUTHORIZED,
    }
}

/// The key in groups of four, easier to type into an app by hand.
fn spaced(key: &str) -> String {
    key.as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}
