//! Manual issuing (手工发放积分): a cashier types a member's mobile number and
//! what they paid, and the earn service issues the points — with the same
//! rules, limits, campaigns and exactly-once guarantee as a till's API call.
//!
//! **A double submit issues once.** Every rendering of the form carries a fresh
//! one-time token; without a receipt number the order id is `MANUAL-<token>`,
//! so the same form sent twice is the same order, which the earn service
//! replays instead of booking again.
//!
//! The member's recent earns here are listed with what was refunded, and a
//! refund (full or partial) reverses their points in proportion.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    crypto,
    domain::{
        id::{MemberId, MerchantId, StoreId},
        money::Money,
        phone::Phone,
    },
    earn::{self, EarnOrder, EarnRequest, OrderId, Source, rule::Breakdown},
    merchant::store::{self, Store},
    people::merchant_user::MerchantRole,
    web::auth::{MerchantPrincipal, Signed},
};

use super::{
    super::prelude::*,
    form::{FieldErrors, known_member, unprocessable},
};

/// Who serves members at the till: every merchant role issues and refunds.
pub(super) const ISSUERS: &[MerchantRole] = &[
    MerchantRole::Owner,
    MerchantRole::Manager,
    MerchantRole::Cashier,
];
const PAGE: &str = "/merchant/issue";
/// How many of the member's recent orders to look through for this merchant's.
const RECENT: i64 = 50;
/// Order ids the portal makes up start with this, so they never meet a till's.
const MANUAL_PREFIX: &str = "MANUAL-";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_issue)
        .service(issue_points)
        .service(look_up_member)
        .service(refund_order);
}

#[derive(Debug, Default, Deserialize)]
struct IssueForm {
    phone: String,
    amount: String,
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    store_id: String,
    /// The one-time token this rendering of the form was given.
    #[serde(default)]
    token: String,
}

/// What the cashier asked for, parsed.
struct Purchase {
    phone: Phone,
    amount: Money,
    order_id: OrderId,
    store_id: Option<StoreId>,
}

impl IssueForm {
    fn parse(&self, locale: Locale) -> Result<Purchase, FieldErrors> {
        let mut errors = FieldErrors::default();
        let phone = Phone::parse(self.phone.trim());
        if phone.is_err() {
            errors.push(
                "phone",
                locale.t("earning_portals.field.phone_invalid").into_owned(),
            );
        }
        let amount = Money::parse(self.amount.trim())
            .ok()
            .filter(|m| m.is_positive());
        if amount.is_none() {
            errors.push(
                "amount",
                locale
                    .t("earning_portals.issue.amount_invalid")
                    .into_owned(),
            );
        }
        let receipt = self.receipt.trim();
        let order_id = if receipt.is_empty() {
            OrderId::parse(&format!("{MANUAL_PREFIX}{}", self.token.trim()))
        } else {
            OrderId::parse(receipt)
        };
        if order_id.is_err() {
            let key = if receipt.is_empty() {
                "earning_portals.issue.form_expired"
            } else {
                "earning_portals.issue.receipt_invalid"
            };
            errors.push("receipt", locale.t(key).into_owned());
        }
        let store_id = match self.store_id.trim() {
            "" => Ok(None),
            id => id.parse().map(Some),
        };
        if store_id.is_err() {
            errors.push(
                "store_id",
                locale.t("earn.error.unknown_store").into_owned(),
            );
        }
        match (phone, amount, order_id, store_id) {
            (Ok(phone), Some(amount), Ok(order_id), Ok(store_id)) => Ok(Purchase {
                phone,
                amount,
                order_id,
                store_id,
            }),
            _ => Err(errors),
        }
    }
}

/// An earn as the page shows it: the breakdown and what refunds took back.
pub(super) struct OrderView {
    pub order_id: String,
    pub at: String,
    pub amount: String,
    pub points: String,
    pub program: String,
    pub base: String,
    pub tier: String,
    /// Each campaign's name and its bonus.
    pub campaigns: Vec<(String, String)>,
    pub refunded: Option<String>,
    pub reversed: Option<String>,
    pub unrecovered: Option<String>,
    /// What is left to refund; none when all is refunded.
    pub refundable: Option<String>,
    /// What was refunded when the page was drawn ("12.50"), sent back with a
    /// refund so a form submitted twice refunds once.
    pub refunded_before: String,
}

impl OrderView {
    pub(super) fn of(order: &EarnOrder, locale: Locale) -> Self {
        // The column is written only from a Breakdown; a row that is not one
        // still shows its total.
        let breakdown: Option<Breakdown> = serde_json::from_value(order.breakdown.clone()).ok();
        let tier = breakdown.as_ref().map_or_else(String::new, |b| {
            locale.t_with(
                "earning_portals.breakdown.tier_points",
                &[
                    ("points", &format::count(b.tier.points)),
                    (
                        "percent",
                        &rust_decimal::Decimal::new(b.tier.bonus_bp.into(), 2)
                            .normalize()
                            .to_string(),
                    ),
                ],
            )
        });
        Self {
            refunded_before: Money::from_fen(order.refunded_fen).to_string(),
            order_id: order.order_id.clone(),
            at: format::datetime(order.occurred_at, locale),
            amount: format::money(Money::from_fen(order.amount_fen)),
            points: format::count(order.points),
            program: order.program_code.to_string(),
            base: breakdown
                .as_ref()
                .map_or_else(String::new, |b| format::count(b.base_points)),
            tier,
            campaigns: breakdown
                .map(|b| {
                    b.campaigns
                        .iter()
                        .map(|c| {
                            let name = match locale {
                                Locale::ZhCn => c.name_zh.clone(),
                                Locale::En => c.name_en.clone(),
                            };
                            (name, format::count(c.points))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            refunded: (order.refunded_fen > 0)
                .then(|| format::money(Money::from_fen(order.refunded_fen))),
            reversed: (order.points_reversed > 0).then(|| format::count(order.points_reversed)),
            unrecovered: (order.points_unrecovered > 0)
                .then(|| format::count(order.points_unrecovered)),
            refundable: (order.refundable_fen() > 0)
                .then(|| format::money(Money::from_fen(order.refundable_fen()))),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/issue.html")]
struct IssuePage {
    chrome: Chrome,
    form: IssueForm,
    errors: FieldErrors,
    /// A refusal of the earn service, translated.
    refusal: Option<String>,
    /// A refusal of a refund, shown with the member's orders.
    refund_refusal: Option<String>,
    stores: Vec<Store>,
    /// The earn just made (or replayed), with its breakdown.
    result: Option<OrderView>,
    replayed: bool,
    /// The member's recent earns here, newest first.
    recent: Vec<OrderView>,
    /// Whether a member was looked up (so "none yet" can be said).
    looked_up: bool,
}

impl IssuePage {
    fn new(ctx: &PageContext, who: &MerchantPrincipal, stores: Vec<Store>) -> Self {
        Self {
            chrome: super::chrome(ctx, who, PAGE),
            form: IssueForm {
                token: crypto::random_token(),
                ..IssueForm::default()
            },
            errors: FieldErrors::default(),
            refusal: None,
            refund_refusal: None,
            stores,
            result: None,
            replayed: false,
            recent: Vec::new(),
            looked_up: false,
        }
    }
}

/// The merchant's active stores, for the store picker.
async fn active_stores(state: &AppState, merchant_id: MerchantId) -> Result<Vec<Store>, WebError> {
    let stores = state.db(move |conn| store::list(conn, merchant_id)).await?;
    Ok(stores.into_iter().filter(|s| s.active).collect())
}

/// The member's recent earns at this merchant.
async fn recent_here(
    state: &AppState,
    merchant_id: MerchantId,
    member_id: MemberId,
    locale: Locale,
) -> Result<Vec<OrderView>, WebError> {
    let orders = state
        .db(move |conn| earn::orders_of_member(conn, member_id, RECENT))
        .await?;
    Ok(orders
        .iter()
        .filter(|o| o.merchant_id == merchant_id)
        .map(|o| OrderView::of(o, locale))
        .collect())
}

#[derive(Deserialize)]
struct ShowQuery {
    order: Option<String>,
    replayed: Option<bool>,
}

#[get("/issue")]
async fn show_issue(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<ShowQuery>,
) -> Result<IssuePage, WebError> {
    who.require(ISSUERS)?;
    let merchant_id = who.merchant.id;
    let mut page = IssuePage::new(&ctx, &who, active_stores(&state, merchant_id).await?);
    let order_id = query.order.as_deref().and_then(|o| OrderId::parse(o).ok());
    if let Some(order_id) = order_id {
        let order = state
            .db(move |conn| earn::find_order(conn, merchant_id, &order_id))
            .await?
            .ok_or(WebError::NotFound)?;
        page.recent = recent_here(&state, merchant_id, order.member_id, ctx.locale).await?;
        page.result = Some(OrderView::of(&order, ctx.locale));
        page.replayed = query.replayed.unwrap_or(false);
        page.looked_up = true;
    }
    Ok(page)
}

/// Where a booked order is shown.
fn result_url(order_id: &str, replayed: bool) -> String {
    let query = serde_urlencoded::to_string([("order", order_id)]).unwrap_or_default();
    if replayed {
        format!("{PAGE}?{query}&replayed=true")
    } else {
        format!("{PAGE}?{query}")
    }
}

#[post("/issue")]
async fn issue_points(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<IssueForm>,
) -> Result<HttpResponse, WebError> {
    who.require(ISSUERS)?;
    let merchant_id = who.merchant.id;
    let stores = active_stores(&state, merchant_id).await?;
    let refuse = |form: IssueForm, errors: FieldErrors, refusal: Option<String>| {
        let mut page = IssuePage::new(&ctx, &who, stores.clone());
        // The same token again: fixing a typo must not make it a new order.
        page.form = form;
        page.errors = errors;
        page.refusal = refusal;
        unprocessable(&page)
    };
    let purchase = match form.parse(ctx.locale) {
        Ok(p) => p,
        Err(errors) => return refuse(form, errors, None),
    };
    let member = match known_member(&state, &purchase.phone, "phone", ctx.locale).await? {
        Ok(member) => member,
        Err(errors) => return refuse(form, errors, None),
    };
    let request = EarnRequest {
        merchant_id,
        order_id: purchase.order_id,
        member_id: member.id,
        amount: purchase.amount,
        occurred_at: None,
        store_id: purchase.store_id,
        program: None,
        source: Source::Portal,
        device_id: None,
        ip: Some(ctx.ip.clone()),
    };
    let actor = who.actor.clone();
    let earned = state
        .db(move |conn| Ok::<_, WebError>(earn::earn(conn, &request, &actor)))
        .await?;
    match earned {
        Ok(earned) => {
            if !earned.replayed {
                set_flash(
                    &ctx.session,
                    FlashKind::Success,
                    "earning_portals.issue.issued",
                );
            }
            Ok(see_other(result_url(
                &earned.order.order_id,
                earned.replayed,
            )))
        }
        Err(e) if e.is_refusal() => {
            let message = e.message(ctx.locale).unwrap_or_default();
            refuse(form, FieldErrors::default(), Some(message))
        }
        Err(e) => Err(flash::system(e)),
    }
}

#[derive(Deserialize)]
struct LookupForm {
    phone: String,
}

/// The member's recent earns here, to find the one to refund. A POST, so the
/// number stays out of URLs and logs; it changes nothing.
#[post("/issue/lookup")]
async fn look_up_member(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<LookupForm>,
) -> Result<HttpResponse, WebError> {
    who.require(ISSUERS)?;
    let merchant_id = who.merchant.id;
    let mut page = IssuePage::new(&ctx, &who, active_stores(&state, merchant_id).await?);
    page.form.phone = form.phone.trim().to_owned();
    let Ok(phone) = Phone::parse(form.phone.trim()) else {
        page.errors = FieldErrors::one(
            "lookup_phone",
            ctx.locale
                .t("earning_portals.field.phone_invalid")
                .into_owned(),
        );
        return unprocessable(&page);
    };
    let found = match known_member(&state, &phone, "lookup_phone", ctx.locale).await? {
        Ok(found) => found,
        Err(errors) => {
            page.errors = errors;
            return unprocessable(&page);
        }
    };
    page.recent = recent_here(&state, merchant_id, found.id, ctx.locale).await?;
    page.looked_up = true;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

#[derive(Deserialize)]
struct RefundForm {
    order_id: String,
    /// Empty: everything still refundable.
    #[serde(default)]
    amount: String,
    /// What the page showed refunded already (see `OrderView::refunded_before`).
    refunded_before: String,
}

#[post("/issue/refund")]
async fn refund_order(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<RefundForm>,
) -> Result<HttpResponse, WebError> {
    who.require(ISSUERS)?;
    let order_id = OrderId::parse(form.order_id.trim()).map_err(|_| WebError::BadRequest)?;
    let back = result_url(order_id.as_str(), false);
    let amount = match form.amount.trim() {
        "" => None,
        text => {
            let Ok(amount) = Money::parse(text) else {
                set_flash(
                    &ctx.session,
                    FlashKind::Error,
                    "earning_portals.refund.amount_invalid",
                );
                return Ok(see_other(back));
            };
            Some(amount)
        }
    };
    let refunded_before =
        Money::parse(form.refunded_before.trim()).map_err(|_| WebError::BadRequest)?;
    let (actor, merchant_id) = (who.actor.clone(), who.merchant.id);
    let refunded = state
        .db(move |conn| {
            Ok::<_, WebError>(earn::refund(
                conn,
                merchant_id,
                &order_id,
                amount,
                Some(refunded_before),
                &actor,
            ))
        })
        .await?;
    match refunded {
        Ok(_) => set_flash(
            &ctx.session,
            FlashKind::Success,
            "earning_portals.refund.done",
        ),
        Err(earn::RefundError::UnknownOrder) => return Err(WebError::NotFound),
        Err(e) if e.is_refusal() => {
            // The refusal has figures in it, so it cannot wait for the next page
            // as a catalog key: show the order again with it.
            return refund_refused(
                &ctx,
                &who,
                &state,
                &form.order_id,
                e.message(ctx.locale).unwrap_or_default(),
            )
            .await;
        }
        Err(e) => return Err(flash::system(e)),
    }
    Ok(see_other(back))
}

async fn refund_refused(
    ctx: &PageContext,
    who: &MerchantPrincipal,
    state: &AppState,
    order_id: &str,
    message: String,
) -> Result<HttpResponse, WebError> {
    let merchant_id = who.merchant.id;
    let mut page = IssuePage::new(ctx, who, active_stores(state, merchant_id).await?);
    let order_id = OrderId::parse(order_id).map_err(|_| WebError::BadRequest)?;
    let order = state
        .db(move |conn| earn::find_order(conn, merchant_id, &order_id))
        .await?
        .ok_or(WebError::NotFound)?;
    page.recent = recent_here(state, merchant_id, order.member_id, ctx.locale).await?;
    page.result = Some(OrderView::of(&order, ctx.locale));
    page.refund_refusal = Some(message);
    page.looked_up = true;
    unprocessable(&page)
}
