//! The merchant's settings, for the owner: where webhooks go, and the secret
//! that signs them.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    web::{
        auth::{MerchantPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::{CsrfForm, NoFields},
        error::WebError,
        page::{Chrome, FlashKind},
        state::AppState,
    },
    webhook::endpoint::{self as webhook, InvalidWebhookUrl, WebhookUrl},
};

use super::{
    super::see_other,
    OWNER,
    form::{FieldErrors, unprocessable},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_settings)
        .service(set_webhook)
        .service(rotate_webhook_secret);
}

const PAGE: &str = "/merchant/settings";

#[derive(Template, WebTemplate)]
#[template(path = "merchant/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    /// The URL webhooks go to now.
    current: Option<String>,
    /// What the field shows: the current URL, or what was refused.
    webhook_url: String,
    errors: FieldErrors,
    has_secret: bool,
    /// A secret just generated, in the clear for this one page.
    new_secret: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WebhookForm {
    webhook_url: String,
}

fn invalid_key(e: InvalidWebhookUrl) -> &'static str {
    match e {
        InvalidWebhookUrl::NotAUrl => "merchant_admin.webhook.error.not_a_url",
        InvalidWebhookUrl::NotHttps => "merchant_admin.webhook.error.not_https",
        InvalidWebhookUrl::NotPublic => "webhook_target.error.not_public",
        InvalidWebhookUrl::Credentials => "merchant_admin.webhook.error.credentials",
        InvalidWebhookUrl::TooLong => "merchant_admin.webhook.error.too_long",
    }
}

async fn settings_page(
    ctx: &PageContext,
    who: &MerchantPrincipal,
    state: &AppState,
    shown: Option<String>,
    errors: FieldErrors,
) -> Result<SettingsPage, WebError> {
    let merchant_id = who.merchant.id;
    let (current, has_secret) = state
        .db(move |conn| {
            Ok::<_, diesel::result::Error>((
                webhook::of_merchant(conn, merchant_id)?,
                webhook::has_secret(conn, merchant_id)?,
            ))
        })
        .await?;
    Ok(SettingsPage {
        chrome: super::chrome(ctx, who, PAGE),
        webhook_url: shown.or_else(|| current.clone()).unwrap_or_default(),
        current,
        errors,
        has_secret,
        new_secret: None,
    })
}

#[get("/settings")]
async fn show_settings(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<SettingsPage, WebError> {
    who.require(OWNER)?;
    settings_page(&ctx, &who, &state, None, FieldErrors::default()).await
}

/// An empty URL clears it: no webhooks are sent.
#[post("/settings/webhook")]
async fn set_webhook(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<WebhookForm>,
) -> Result<HttpResponse, WebError> {
    who.require(OWNER)?;
    let url = match form.webhook_url.trim() {
        "" => None,
        text => match WebhookUrl::vet(text, &state.webhook_policy).await {
            Ok(url) => Some(url),
            Err(e) => {
                let errors =
                    FieldErrors::one("webhook_url", ctx.locale.t(invalid_key(e)).into_owned());
                let page = settings_page(&ctx, &who, &state, Some(form.webhook_url), errors);
                return unprocessable(&page.await?);
            }
        },
    };
    let flash = if url.is_some() {
        "merchant_admin.webhook.saved"
    } else {
        "merchant_admin.webhook.cleared"
    };
    let (actor, merchant_id) = (who.actor.clone(), who.merchant.id);
    state
        .db(move |conn| webhook::set(conn, &actor, merchant_id, url.as_ref()))
        .await?;
    set_flash(&ctx.session, FlashKind::Success, flash);
    Ok(see_other(PAGE))
}

/// Generates a new webhook secret (the old one stops at once). Answers with the
/// page itself rather than a redirect: the secret must not be stored anywhere to
/// be shown later.
#[post("/settings/webhook-secret")]
async fn rotate_webhook_secret(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<SettingsPage, WebError> {
    who.require(OWNER)?;
    let (actor, merchant_id, keys) = (who.actor.clone(), who.merchant.id, state.keys.clone());
    let secret = state
        .db(move |conn| webhook::rotate_secret(conn, &keys, &actor, merchant_id))
        .await?;
    let mut page = settings_page(&ctx, &who, &state, None, FieldErrors::default()).await?;
    page.new_secret = Some(secret);
    Ok(page)
}
