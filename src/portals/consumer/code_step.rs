//! What the member app's SMS-code pages share: sending the code a flow calls
//! for, and the words for a refused send or a refused code.
//!
//! A send answers the same for every number — registered, enrolled or
//! unknown — because `people::phone_code` decides what the text says and the
//! page only ever shows "if this number can receive texts, a code is on its
//! way".

use actix_web::{HttpResponse, http::StatusCode};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    domain::{phone::Phone, portal::Portal},
    i18n::Locale,
    people::{
        code_sms::{AccountExistsSms, NoAccountSms, OneTimeCodeSms},
        phone_code::{self, CODE_VALIDITY, CodeRefused, Flow, Outgoing, SendRefused},
    },
    web::{context::PageContext, error::WebError, page::Chrome, state::AppState},
};

/// A refusal to show on the page, with the status to answer.
pub(super) struct Refused {
    pub message: String,
    pub status: StatusCode,
}

/// Sends what `flow` calls for to `phone`, within the sending limits.
pub(super) async fn send(
    state: &AppState,
    ctx: &PageContext,
    phone: &Phone,
    flow: Flow,
) -> Result<Result<(), Refused>, WebError> {
    let locale = ctx.locale;
    let (keys, ip, number) = (state.keys.clone(), ctx.ip.clone(), phone.clone());
    let outgoing = state
        .db(move |conn| phone_code::request(conn, &keys, &number, flow, &ip))
        .await?;
    let outgoing = match outgoing {
        Ok(outgoing) => outgoing,
        Err(refused) => {
            return Ok(Err(Refused {
                message: send_refused(locale, refused),
                status: StatusCode::TOO_MANY_REQUESTS,
            }));
        }
    };
    let sent = match outgoing {
        Outgoing::Code { purpose, code } => {
            let sms = OneTimeCodeSms {
                purpose,
                code,
                minutes: minutes(),
            };
            state.sms.send(phone, &sms, locale).await
        }
        Outgoing::AccountExists => state.sms.send(phone, &AccountExistsSms, locale).await,
        Outgoing::NoAccount => state.sms.send(phone, &NoAccountSms, locale).await,
    };
    // The sender logged why; the person learns only that it did not go.
    Ok(sent.map_err(|_| Refused {
        message: locale.t("consumer_phone.error.not_sent").into_owned(),
        status: StatusCode::SERVICE_UNAVAILABLE,
    }))
}

fn minutes() -> u32 {
    u32::try_from(CODE_VALIDITY.num_minutes()).unwrap_or(5)
}

/// "If 138****0000 can receive texts, a code is on its way."
pub(super) fn sent_notice(locale: Locale, phone: &Phone) -> String {
    locale.t_with(
        "consumer_phone.code.sent",
        &[
            ("phone", &phone.masked()),
            ("minutes", &minutes().to_string()),
        ],
    )
}

fn send_refused(locale: Locale, refused: SendRefused) -> String {
    match refused {
        SendRefused::Cooldown { retry_in_seconds } => locale.t_with(
            "consumer_phone.error.cooldown",
            &[("seconds", &retry_in_seconds.to_string())],
        ),
        SendRefused::NumberLimit => locale.t("consumer_phone.error.number_limit").into_owned(),
        SendRefused::IpLimit => locale.t("consumer_phone.error.ip_limit").into_owned(),
    }
}

/// Why a code was refused, to show beside the code field.
pub(super) fn code_refused(locale: Locale, refused: CodeRefused) -> String {
    locale
        .t(match refused {
            CodeRefused::Invalid => "consumer_phone.error.code",
            CodeRefused::Exhausted => "consumer_phone.error.exhausted",
        })
        .into_owned()
}

/// The signed-out code pages (sign-in by code, password reset): step one asks
/// for the number, step two for the code (and, to reset, the new password).
#[derive(Template, WebTemplate)]
#[template(path = "consumer/phone_code.html")]
pub(super) struct CodePage {
    pub chrome: Chrome,
    pub kind: CodePageKind,
    pub phone: String,
    /// Step two rather than step one.
    pub code_step: bool,
    pub notice: Option<String>,
    /// (field, message) pairs, shown next to their fields.
    pub errors: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CodePageKind {
    SignIn,
    Reset,
}

impl CodePage {
    pub fn new(ctx: &PageContext, kind: CodePageKind, phone: String) -> Self {
        Self {
            chrome: ctx.public_chrome(Some(Portal::Consumer)),
            kind,
            phone,
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

    fn reset(&self) -> bool {
        self.kind == CodePageKind::Reset
    }

    /// Where the number is posted (step one, and "send a new code").
    fn send_action(&self) -> &'static str {
        match self.kind {
            CodePageKind::SignIn => "/consumer/sign-in/code/send",
            CodePageKind::Reset => "/consumer/password-reset",
        }
    }

    /// Step one's page.
    fn start_href(&self) -> &'static str {
        match self.kind {
            CodePageKind::SignIn => "/consumer/sign-in/code",
            CodePageKind::Reset => "/consumer/password-reset",
        }
    }

    /// Where the code is posted (step two).
    fn finish_action(&self) -> &'static str {
        match self.kind {
            CodePageKind::SignIn => "/consumer/sign-in/code",
            CodePageKind::Reset => "/consumer/password-reset/sms",
        }
    }

    fn key(&self, what: &str) -> String {
        let area = match self.kind {
            CodePageKind::SignIn => "sign_in",
            CodePageKind::Reset => "reset",
        };
        self.chrome.t(&format!("consumer_phone.{area}.{what}"))
    }

    /// The page as an answer with `status`.
    pub fn answer(&self, status: StatusCode) -> Result<HttpResponse, WebError> {
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(self.render()?))
    }

    /// Step one: texts the number, then shows step two; or step one again
    /// with why not.
    pub async fn send(
        mut self,
        state: &AppState,
        ctx: &PageContext,
        flow: Flow,
    ) -> Result<HttpResponse, WebError> {
        let Ok(phone) = Phone::parse(&self.phone) else {
            self.errors = vec![("phone", ctx.locale.t("form.error.phone").into_owned())];
            return self.answer(StatusCode::UNPROCESSABLE_ENTITY);
        };
        match send(state, ctx, &phone, flow).await? {
            Ok(()) => {
                self.code_step = true;
                self.notice = Some(sent_notice(ctx.locale, &phone));
                self.answer(StatusCode::OK)
            }
            Err(refused) => {
                self.errors = vec![("phone", refused.message)];
                self.answer(refused.status)
            }
        }
    }

    /// Step two again, with `errors`.
    pub fn refuse(mut self, errors: Vec<(&'static str, String)>) -> Result<HttpResponse, WebError> {
        self.code_step = true;
        self.errors = errors;
        self.answer(StatusCode::UNPROCESSABLE_ENTITY)
    }
}
