//! A signed-in member proves their number by SMS code, and the gate that keeps
//! members who have not from spending.
//!
//! Members who signed up before codes existed never proved their number, so
//! their account may be a stranger's opened with it. Until they verify, the
//! member app refuses everything that moves their points out at their request
//! (redeeming a reward, exchanging points) with a page that leads here, and
//! the home page says so. Earning, browsing and cancelling a voucher (which
//! gives points back) stay open. Redemption at a partner's counter through the
//! API is not gated: see `api::redemption`.

use actix_web::{HttpResponse, get, http::StatusCode, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    people::{
        member,
        phone_code::{self, Flow},
    },
    web::{
        auth::{MemberPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::{CsrfForm, NoFields},
        error::WebError,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::{super::see_other, code_step};

const PATH: &str = "/consumer/phone/verify";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(send).service(finish);
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/verify_phone.html")]
struct VerifyPage {
    chrome: Chrome,
    phone: String,
    code_step: bool,
    notice: Option<String>,
    errors: Vec<(&'static str, String)>,
}

impl VerifyPage {
    fn new(ctx: &PageContext, who: &MemberPrincipal) -> Self {
        Self {
            chrome: super::chrome(ctx, who, PATH),
            phone: who.phone.masked(),
            code_step: false,
            notice: None,
            errors: Vec::new(),
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    fn answer(&self, status: StatusCode) -> Result<HttpResponse, WebError> {
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(self.render()?))
    }
}

/// Nothing to do for a verified member: back home, saying so.
fn already(ctx: &PageContext) -> HttpResponse {
    set_flash(
        &ctx.session,
        FlashKind::Info,
        "consumer_phone.verify.already",
    );
    see_other("/consumer")
}

#[get("/phone/verify")]
async fn show(ctx: PageContext, who: Signed<MemberPrincipal>) -> Result<HttpResponse, WebError> {
    if who.member.phone_verified() {
        return Ok(already(&ctx));
    }
    VerifyPage::new(&ctx, &who).answer(StatusCode::OK)
}

#[post("/phone/verify/send")]
async fn send(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    if who.member.phone_verified() {
        return Ok(already(&ctx));
    }
    let mut page = VerifyPage::new(&ctx, &who);
    match code_step::send(&state, &ctx, &who.phone, Flow::Verify).await? {
        Ok(()) => {
            page.code_step = true;
            page.notice = Some(code_step::sent_notice(ctx.locale, &who.phone));
            page.answer(StatusCode::OK)
        }
        Err(refused) => {
            page.errors = vec![("phone", refused.message)];
            page.answer(refused.status)
        }
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

#[post("/phone/verify")]
async fn finish(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let (keys, phone, actor, id) = (
        state.keys.clone(),
        who.phone.clone(),
        who.actor.clone(),
        who.member.id,
    );
    let verified = state
        .db(move |conn| {
            phone_code::redeem(conn, &keys, &phone, Flow::Verify, &form.code, |conn, _| {
                // The session holder signed in with the password and now
                // proved the number: both are theirs, the password stays.
                member::verify_phone(conn, &actor, id, false)
            })
        })
        .await?;
    match verified {
        Ok(()) => {
            set_flash(
                &ctx.session,
                FlashKind::Success,
                "consumer_phone.verify.done",
            );
            Ok(see_other("/consumer"))
        }
        Err(refused) => {
            let mut page = VerifyPage::new(&ctx, &who);
            page.code_step = true;
            page.errors = vec![("code", code_step::code_refused(ctx.locale, refused))];
            page.answer(StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/verify_required.html")]
struct RequiredPage {
    chrome: Chrome,
}

/// The refusal a member who has not verified their number gets when they try
/// to spend points (403, with the way to verify); None for a verified member.
pub(super) fn refuse_unverified(
    ctx: &PageContext,
    who: &MemberPrincipal,
    current: &str,
) -> Option<Result<HttpResponse, WebError>> {
    if who.member.phone_verified() {
        return None;
    }
    let page = RequiredPage {
        chrome: super::chrome(ctx, who, current),
    };
    Some(page.render().map_err(WebError::from).map(|body| {
        HttpResponse::Forbidden()
            .content_type("text/html; charset=utf-8")
            .body(body)
    }))
}
