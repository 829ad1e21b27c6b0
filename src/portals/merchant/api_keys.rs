//! The merchant's partner-API keys, for the owner alone: create one (its secret
//! is on the answer to that request and nowhere else, ever), see when each was
//! last used, revoke one. Merchants whose tier has no API access are told so.

use actix_web::{HttpResponse, get, http::StatusCode, post, web};
use askama::Template;
use askama_web::WebTemplate;
use secrecy::ExposeSecret as _;
use serde::{Deserialize, de::IgnoredAny};

use crate::{
    error::Classify,
    i18n::format,
    merchant::api_key::{self, ApiKey, IssuedKey, KeyLabel},
    web::{
        auth::{MerchantPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::{
    super::see_other,
    OWNER,
    form::{FieldErrors, respond, unprocessable},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_keys)
        .service(create_key)
        .service(revoke_key);
}

const LIST: &str = "/merchant/api-keys";

pub struct KeyRow {
    pub id: i64,
    pub label: String,
    pub key_id: String,
    pub created_by: String,
    pub created_at: String,
    pub last_used: Option<String>,
    pub revoked_at: Option<String>,
}

/// A key just created, with its secret in the clear for this one page.
pub struct Issued {
    pub key_id: String,
    pub secret: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/api_keys.html")]
struct ApiKeysPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    /// Why this merchant may not create keys, if it may not.
    ineligible: Option<String>,
    issued: Option<Issued>,
    label: String,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
struct KeyForm {
    label: String,
}

async fn keys_page(
    ctx: &PageContext,
    who: &MerchantPrincipal,
    state: &AppState,
    issued: Option<Issued>,
    label: String,
    errors: FieldErrors,
) -> Result<ApiKeysPage, WebError> {
    let merchant_id = who.merchant.id;
    let keys = state
        .db(move |conn| api_key::list(conn, merchant_id))
        .await?;
    let locale = ctx.locale;
    Ok(ApiKeysPage {
        chrome: super::chrome(ctx, who, LIST),
        keys: keys
            .into_iter()
            .map(|k: ApiKey| KeyRow {
                id: k.id,
                created_at: format::datetime(k.created_at, locale),
                last_used: k.last_used_at.map(|at| format::datetime(at, locale)),
                revoked_at: k.revoked_at.map(|at| format::datetime(at, locale)),
                label: k.label,
                key_id: k.key_id,
                created_by: k.created_by,
            })
            .collect(),
        ineligible: api_key::eligibility(&who.merchant)
            .err()
            .and_then(|e| e.message(locale)),
        issued,
        label,
        errors,
    })
}

#[get("/api-keys")]
async fn list_keys(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<ApiKeysPage, WebError> {
    who.require(OWNER)?;
    keys_page(
        &ctx,
        &who,
        &state,
        None,
        String::new(),
        FieldErrors::default(),
    )
    .await
}

/// Answers with the page itself rather than a redirect: the secret must not be
/// parked in the session (stored in the database) to survive one.
#[post("/api-keys")]
async fn create_key(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<KeyForm>,
) -> Result<HttpResponse, WebError> {
    who.require(OWNER)?;
    let refuse = |error: String, form: KeyForm| {
        let errors = FieldErrors::one("label", error);
        let (ctx, who, state) = (&ctx, &who, &state);
        async move { unprocessable(&keys_page(ctx, who, state, None, form.label, errors).await?) }
    };
    let Ok(label) = KeyLabel::parse(&form.label) else {
        let error = ctx.locale.t("merchant_admin.api_key.error.label");
        return refuse(error.into_owned(), form).await;
    };
    let (keys, actor, merchant) = (state.keys.clone(), who.actor.clone(), who.merchant.clone());
    let locale = ctx.locale;
    let created = state
        .db(move |conn| {
            flash::refused(
                api_key::create(conn, &keys, &actor, &merchant, &label),
                locale,
            )
        })
        .await?;
    match created {
        Ok(IssuedKey { key, secret }) => {
            let issued = Issued {
                key_id: key.key_id,
                secret: secret.expose_secret().to_owned(),
            };
            let page = keys_page(
                &ctx,
                &who,
                &state,
                Some(issued),
                String::new(),
                FieldErrors::default(),
            )
            .await?;
            respond(StatusCode::OK, &page)
        }
        Err(error) => refuse(error, form).await,
    }
}

#[post("/api-keys/{id}/revoke")]
async fn revoke_key(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(_): CsrfForm<IgnoredAny>,
) -> Result<HttpResponse, WebError> {
    who.require(OWNER)?;
    let (id, actor, merchant_id) = (id.into_inner(), who.actor.clone(), who.merchant.id);
    state
        .db(move |conn| api_key::revoke(conn, &actor, merchant_id, id))
        .await?
        .ok_or(WebError::NotFound)?;
    set_flash(
        &ctx.session,
        FlashKind::Success,
        "merchant_admin.api_key.revoked",
    );
    Ok(see_other(LIST))
}
