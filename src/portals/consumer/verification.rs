//! Real-name verification (实名认证): where the member's request stands
//! (verified, waiting for review, or rejected with the reason) and the form to
//! file one — name and resident ID number, encrypted before they are stored.
//! Large exchanges need it.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    domain::id::MemberId,
    error::Classify,
    i18n::format,
    people::{
        member,
        verification::{self, Verification, VerificationError, VerificationStatus},
    },
    web::{
        auth::{MemberPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::super::see_other;

const PATH: &str = "/consumer/profile/verification";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_verification).service(submit_verification);
}

/// Where the member stands.
enum Standing {
    Verified,
    /// The ID number's last four characters and when it was filed.
    Pending {
        hint: String,
        at: String,
    },
    /// The reviewer's reason and when it was decided.
    Rejected {
        reason: String,
        at: String,
    },
    None,
}

impl Standing {
    fn may_submit(&self) -> bool {
        matches!(self, Self::Rejected { .. } | Self::None)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/verification.html")]
struct VerificationPage {
    chrome: Chrome,
    standing: Standing,
    name: String,
    /// (field, message): `name`, `id_number`, or empty for the form as a whole.
    error: Option<(&'static str, String)>,
}

impl VerificationPage {
    fn error_of(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

async fn standing(
    state: &AppState,
    member_id: MemberId,
    locale: crate::i18n::Locale,
) -> Result<Standing, WebError> {
    let (verified, latest): (bool, Option<Verification>) = state
        .db(move |conn| {
            Ok::<_, WebError>((
                member::identity_verified(conn, member_id)?,
                verification::latest_of(conn, member_id)?,
            ))
        })
        .await?;
    Ok(match latest {
        _ if verified => Standing::Verified,
        Some(v) if v.status == VerificationStatus::Pending => Standing::Pending {
            hint: v.id_number_hint,
            at: format::datetime(v.created_at, locale),
        },
        Some(v) if v.status == VerificationStatus::Rejected => Standing::Rejected {
            reason: v.reason.unwrap_or_default(),
            at: format::datetime(v.decided_at.unwrap_or(v.created_at), locale),
        },
        _ => Standing::None,
    })
}

#[get("/profile/verification")]
async fn show_verification(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
) -> Result<VerificationPage, WebError> {
    Ok(VerificationPage {
        chrome: super::chrome(&ctx, &who, "/consumer/profile"),
        standing: standing(&state, who.member.id, ctx.locale).await?,
        name: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct VerificationForm {
    name: String,
    id_number: String,
}

#[post("/profile/verification")]
async fn submit_verification(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<VerificationForm>,
) -> Result<HttpResponse, WebError> {
    let (keys, actor, member_id) = (state.keys.clone(), who.actor.clone(), who.member.id);
    let (name, id_number) = (form.name.clone(), form.id_number.clone());
    let submitted = state
        .db(move |conn| {
            flash::refusal(verification::submit(
                conn, &keys, &actor, member_id, &name, &id_number,
            ))
        })
        .await?;
    let Err(e) = submitted else {
        set_flash(
            &ctx.session,
            FlashKind::Success,
            "consumer_exchange.verification.submitted",
        );
        return Ok(see_other(PATH));
    };
    let field = match e {
        VerificationError::InvalidName => "name",
        VerificationError::InvalidIdNumber(_) => "id_number",
        VerificationError::AlreadyVerified
        | VerificationError::AlreadyPending
        | VerificationError::NotFound
        | VerificationError::NotPending
        | VerificationError::ReasonRequired
        | VerificationError::Database(_) => "",
    };
    let message = e.message(ctx.locale).unwrap_or_default();
    let page = VerificationPage {
        chrome: super::chrome(&ctx, &who, "/consumer/profile"),
        standing: standing(&state, member_id, ctx.locale).await?,
        name: form.name,
        error: Some((field, message)),
    };
    Ok(HttpResponse::UnprocessableEntity()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}
