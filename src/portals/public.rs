//! The public site: the home page that explains the alliance and lists its
//! partner merchants, and the language switch every page carries.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    domain::portal::Portal,
    i18n::Locale,
    merchant, people,
    web::{
        auth::principal_id, context::PageContext, csrf::CsrfForm, error::WebError, locale,
        page::Chrome, redirect, state::AppState,
    },
};

use super::see_other;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(home).service(switch_language);
}

/// Pages for people building Alliance, never served in production.
pub fn development_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(style_guide);
}

/// Every component of the design system with sample content.
#[derive(Template, WebTemplate)]
#[template(path = "style-guide.html")]
struct StyleGuidePage {
    chrome: Chrome,
}

#[get("/style-guide")]
async fn style_guide(ctx: PageContext) -> StyleGuidePage {
    StyleGuidePage {
        chrome: ctx.public_chrome(None),
    }
}

pub struct MerchantCard {
    pub name: String,
    pub initial: String,
    pub category: String,
    pub strategic: bool,
    /// Picks one of the monogram colours, stable per merchant.
    pub tone: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "public/home.html")]
struct HomePage {
    chrome: Chrome,
    merchants: Vec<MerchantCard>,
}

#[get("/")]
async fn home(ctx: PageContext, state: web::Data<AppState>) -> Result<HomePage, WebError> {
    let locale = ctx.locale;
    let merchants = state.db(merchant::list_active).await?;
    let merchants = merchants
        .iter()
        .map(|m| {
            let name = m.name(locale).to_owned();
            MerchantCard {
                initial: name.chars().next().map(String::from).unwrap_or_default(),
                category: locale
                    .t(&format!("merchant.category.{}", m.category))
                    .into_owned(),
                strategic: m.tier == merchant::tier::Tier::Strategic,
                tone: m.id.0 % 6,
                name,
            }
        })
        .collect();
    Ok(HomePage {
        chrome: ctx.public_chrome(None),
        merchants,
    })
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
    next: Option<String>,
}

/// Remembers the language in a cookie, and for a signed-in person in their
/// account (emails follow it), then returns to the page.
#[post("/lang")]
async fn switch_language(
    req: HttpRequest,
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<LanguageForm>,
) -> Result<HttpResponse, WebError> {
    let locale: Locale = form.lang.parse().map_err(|_| WebError::BadRequest)?;
    let signed_in = [Portal::Platform, Portal::Merchant, Portal::Consumer]
        .into_iter()
        .find_map(|portal| principal_id(&ctx.session, portal).map(|id| (portal, id)));
    if let Some((portal, id)) = signed_in {
        state
            .db(move |conn| people::set_locale(conn, portal, id, locale))
            .await?;
    }
    let next = form
        .next
        .filter(|n| redirect::local_path(n, "").is_some())
        .unwrap_or_else(|| "/".to_owned());
    let mut response = see_other(next);
    response
        .add_cookie(&locale::cookie(
            locale,
            req.connection_info().scheme() == "https",
        ))
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(response)
}
