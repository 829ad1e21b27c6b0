//! The member's account: contact details (masked), language, and consent to the
//! privacy policy, which they can withdraw or give again at any time.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    i18n::format,
    people::member::{self, PRIVACY_POLICY_VERSION},
    web::{
        auth::{MemberPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::super::see_other;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_profile).service(set_consent);
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/profile.html")]
struct ProfilePage {
    chrome: Chrome,
    phone: String,
    email: String,
    name: String,
    since: String,
    /// (granted, version, when)
    consent: Option<(bool, String, String)>,
    policy_version: &'static str,
}

#[get("/profile")]
async fn show_profile(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
) -> Result<ProfilePage, WebError> {
    let id = who.member.id;
    let consent = state.db(move |conn| member::consent(conn, id)).await?;
    Ok(ProfilePage {
        chrome: super::chrome(&ctx, &who, "/consumer/profile"),
        phone: who.phone.masked(),
        email: who.member.email.clone().unwrap_or_default(),
        name: who.member.display_name.clone(),
        since: format::datetime(who.member.created_at, ctx.locale),
        consent: consent.map(|c| {
            (
                c.granted,
                c.version,
                format::datetime(c.recorded_at, ctx.locale),
            )
        }),
        policy_version: PRIVACY_POLICY_VERSION,
    })
}

#[derive(Deserialize)]
struct ConsentForm {
    granted: bool,
}

#[post("/profile/consent")]
async fn set_consent(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ConsentForm>,
) -> Result<HttpResponse, WebError> {
    let (id, actor) = (who.member.id, who.actor.clone());
    state
        .db(move |conn| member::set_consent(conn, &actor, id, form.granted))
        .await?;
    set_flash(
        &ctx.session,
        FlashKind::Success,
        if form.granted {
            "consumer.profile.consent_given"
        } else {
            "consumer.profile.consent_withdrawn"
        },
    );
    Ok(see_other("/consumer/profile"))
}
