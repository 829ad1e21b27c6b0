//! Collections: what merchants owe the platform, a receipt recorded against
//! one, and a deduction from the deposit (through an approval).

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    domain::money::Money,
    settlement::collection,
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::{CsrfForm, NoFields},
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    super::{super::settlement_view::CollectionRow, action::Action},
    LIST_SIZE, SETTLEMENT_HANDLERS, SETTLEMENT_READERS, can_act, merchant_names,
};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_collections)
        .service(record_receipt)
        .service(deduct_from_deposit);
}
#[derive(Template, WebTemplate)]
#[template(path = "platform/settlement/collections.html")]
struct CollectionsPage {
    chrome: Chrome,
    collections: Vec<CollectionRow>,
    can_act: bool,
}

#[get("/settlement/collections")]
async fn show_collections(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<CollectionsPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let locale = ctx.locale;
    let (collections, names) = state
        .db(move |conn| {
            Ok::<_, WebError>((
                collection::list(conn, false, LIST_SIZE)?,
                merchant_names(conn, locale)?,
            ))
        })
        .await?;
    Ok(CollectionsPage {
        chrome: super::super::chrome(&ctx, &who, "/platform/settlement"),
        collections: collections
            .iter()
            .map(|c| {
                CollectionRow::of(
                    c,
                    names.get(&c.merchant_id).cloned().unwrap_or_default(),
                    locale,
                )
            })
            .collect(),
        can_act: can_act(&who),
    })
}

#[derive(Deserialize)]
struct ReceiptForm {
    amount: String,
    #[serde(default)]
    bank_reference: String,
}

const COLLECTIONS: &str = "/platform/settlement/collections";

#[post("/settlement/collections/{id}/receipt")]
async fn record_receipt(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ReceiptForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, SETTLEMENT_HANDLERS)?;
    let Ok(amount) = Money::parse(form.amount.trim()) else {
        return Ok(action.invalid("settlement.collection.error.amount", COLLECTIONS));
    };
    let id = id.into_inner();
    action
        .done(
            move |conn, actor| {
                collection::record_receipt(conn, actor, id, amount, &form.bank_reference)
            },
            |_| "settlement_portals.flash.receipt",
            COLLECTIONS,
        )
        .await
}

#[post("/settlement/collections/{id}/deduct")]
async fn deduct_from_deposit(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    let (id, policy, registry) = (
        id.into_inner(),
        state.approval_policy,
        state.approvals.clone(),
    );
    Action::of(&ctx, &who, &state, SETTLEMENT_HANDLERS)?
        .done(
            move |conn, actor| {
                collection::request_deposit_collection(conn, actor, id, policy, &registry)
            },
            |_| "settlement_portals.flash.deduction_requested",
            COLLECTIONS,
        )
        .await
}
