//! One merchant's settlement: its statements and payouts, its terms and the
//! recipients its payouts are split between.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    domain::id::MerchantId,
    merchant,
    settlement::{
        recipients::{self, RecipientInput},
        statement,
        terms::{self, Terms, TermsInput},
    },
    web::{
        auth::{OperatorPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::{CsrfForm, NoFields},
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::{
    super::super::{
        see_other,
        settlement_view::{RecipientRow, StatementRow, TermsView},
    },
    SETTLEMENT_HANDLERS, SETTLEMENT_READERS, can_act, flash_outcome,
};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_merchant)
        .service(set_terms)
        .service(add_recipient)
        .service(remove_recipient);
}
#[derive(Template, WebTemplate)]
#[template(path = "platform/settlement/merchant.html")]
struct MerchantPage {
    chrome: Chrome,
    merchant_id: MerchantId,
    merchant: String,
    terms: TermsView,
    recipients: Vec<RecipientRow>,
    statements: Vec<StatementRow>,
    can_act: bool,
}

#[get("/merchants/{id}/settlement")]
async fn show_merchant(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
) -> Result<MerchantPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let (id, locale) = (id.into_inner(), ctx.locale);
    let (found, terms, recipients, statements) = state
        .db(move |conn| {
            let Some(found) = merchant::find(conn, id)? else {
                return Err(WebError::NotFound);
            };
            Ok::<_, WebError>((
                found,
                terms::of(conn, id)?,
                recipients::active(conn, id)?,
                statement::of_merchant(conn, id, None, None, 24)?,
            ))
        })
        .await?;
    let name = format!("{} · {}", found.code, found.name(locale));
    Ok(MerchantPage {
        chrome: super::super::chrome(&ctx, &who, "/platform/merchants"),
        merchant_id: id,
        terms: TermsView::of(&terms, locale),
        recipients: recipients
            .iter()
            .map(|r| RecipientRow::of(r, locale))
            .collect(),
        statements: statements
            .iter()
            .map(|s| StatementRow::of(s, name.clone(), locale))
            .collect(),
        merchant: name,
        can_act: can_act(&who),
    })
}

fn merchant_page(id: MerchantId) -> String {
    format!("/platform/merchants/{id}/settlement")
}

#[post("/merchants/{id}/settlement/terms")]
async fn set_terms(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(form): CsrfForm<TermsInput>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let id = id.into_inner();
    let terms = match Terms::parse(&form) {
        Ok(terms) => terms,
        Err(e) => {
            flash::refused_flash(&ctx.session, ctx.locale, e)?;
            return Ok(see_other(merchant_page(id)));
        }
    };
    let actor = who.actor.clone();
    state
        .db(move |conn| {
            if merchant::find(conn, id)?.is_none() {
                return Err(WebError::NotFound);
            }
            Ok(terms::set(conn, &actor, id, &terms)?)
        })
        .await?;
    set_flash(
        &ctx.session,
        FlashKind::Success,
        "settlement_portals.flash.terms",
    );
    Ok(see_other(merchant_page(id)))
}

#[post("/merchants/{id}/settlement/recipients")]
async fn add_recipient(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(form): CsrfForm<RecipientInput>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let (id, actor, keys) = (id.into_inner(), who.actor.clone(), state.keys.clone());
    let result = state
        .db(move |conn| {
            Ok::<_, WebError>(recipients::add(conn, &actor, &keys, id, &form).map(|_| ()))
        })
        .await?;
    flash_outcome(&ctx, result, "settlement_portals.flash.recipient_added")?;
    Ok(see_other(merchant_page(id)))
}

#[post("/merchants/{id}/settlement/recipients/{recipient}/remove")]
async fn remove_recipient(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    path: web::Path<(MerchantId, i64)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_HANDLERS)?;
    let ((id, recipient), actor) = (path.into_inner(), who.actor.clone());
    let result = state
        .db(move |conn| Ok::<_, WebError>(recipients::remove(conn, &actor, id, recipient)))
        .await?;
    flash_outcome(&ctx, result, "settlement_portals.flash.recipient_removed")?;
    Ok(see_other(merchant_page(id)))
}
