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
        context::PageContext,
        csrf::{CsrfForm, NoFields},
        error::WebError,
        flash,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    super::super::settlement_view::{RecipientRow, StatementRow, TermsView},
    super::action::Action,
    SETTLEMENT_HANDLERS, SETTLEMENT_READERS, can_act,
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
    let action = Action::of(&ctx, &who, &state, SETTLEMENT_HANDLERS)?;
    let id = id.into_inner();
    let terms = match Terms::parse(&form) {
        Ok(terms) => terms,
        Err(e) => return action.finish(Err::<(), _>(e), |()| "", merchant_page(id)),
    };
    let result = action
        .steps(move |conn, actor| {
            if merchant::find(conn, id)?.is_none() {
                return Err(WebError::NotFound);
            }
            flash::refusal(terms::set(conn, actor, id, &terms))
        })
        .await?;
    action.finish(
        result,
        |()| "settlement_portals.flash.terms",
        merchant_page(id),
    )
}

#[post("/merchants/{id}/settlement/recipients")]
async fn add_recipient(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(form): CsrfForm<RecipientInput>,
) -> Result<HttpResponse, WebError> {
    let (id, keys) = (id.into_inner(), state.keys.clone());
    Action::of(&ctx, &who, &state, SETTLEMENT_HANDLERS)?
        .done(
            move |conn, actor| recipients::add(conn, actor, &keys, id, &form),
            |_| "settlement_portals.flash.recipient_added",
            merchant_page(id),
        )
        .await
}

#[post("/merchants/{id}/settlement/recipients/{recipient}/remove")]
async fn remove_recipient(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    path: web::Path<(MerchantId, i64)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    let (id, recipient) = path.into_inner();
    Action::of(&ctx, &who, &state, SETTLEMENT_HANDLERS)?
        .done(
            move |conn, actor| recipients::remove(conn, actor, id, recipient),
            |()| "settlement_portals.flash.recipient_removed",
            merchant_page(id),
        )
        .await
}
