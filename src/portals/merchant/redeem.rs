//! The cashier's voucher page (核销): a member shows a voucher code, the cashier
//! types or scans it, sees what it is for, who ordered it, how it was paid and
//! the cash to collect at the counter — and only then confirms, which serves it
//! (`redemption::fulfil` posts the held points). Today's served vouchers are
//! listed below.
//!
//! Looking up changes nothing; confirming twice serves once (the second is told
//! the voucher was already redeemed).

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use serde::Deserialize;

use crate::{
    crypto::Keys,
    domain::{
        id::{MemberId, MerchantId, StoreId},
        money::Money,
        shanghai,
    },
    error::Classify,
    i18n::Locale,
    i18n::format,
    merchant::store::{self, Store},
    people::{member, merchant_user::MerchantRole},
    redemption::{self, RedeemError, RedemptionStatus, Voucher},
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
    form::{FieldErrors, unprocessable},
};

/// Who serves vouchers: every merchant role, cashiers included.
pub(super) const REDEEMERS: &[MerchantRole] = &[
    MerchantRole::Owner,
    MerchantRole::Manager,
    MerchantRole::Cashier,
];
const PAGE: &str = "/merchant/redeem";
/// How many of today's served vouchers the list shows.
const SERVED_TODAY: i64 = 100;
const CODE_DIGITS: usize = 12;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_redeem)
        .service(look_up_voucher)
        .service(confirm_voucher);
}

/// The code as typed or scanned, and the store serving it.
#[derive(Debug, Default, Deserialize)]
struct VoucherForm {
    code: String,
    #[serde(default)]
    store_id: String,
}

impl VoucherForm {
    /// The code without the blanks and dashes people type into it, and the
    /// store; a translated message per field otherwise.
    fn parse(&self, locale: Locale) -> Result<(String, Option<StoreId>), FieldErrors> {
        let code: String = self
            .code
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let mut errors = FieldErrors::default();
        if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(
                "code",
                locale
                    .t("redemption_portals.field.code_invalid")
                    .into_owned(),
            );
        }
        let store_id = match self.store_id.trim() {
            "" => Ok(None),
            id => id.parse().map(Some),
        };
        if store_id.is_err() {
            errors.push(
                "store_id",
                locale.t("redemption.error.unknown_store").into_owned(),
            );
        }
        match store_id {
            Ok(store_id) if errors.get("code").is_none() => Ok((code, store_id)),
            _ => Err(errors),
        }
    }
}

/// A voucher as the counter shows it before serving.
struct VoucherView {
    code: String,
    title: String,
    /// The member's masked mobile number.
    member: String,
    /// The badge's style.
    status_class: &'static str,
    status_label: String,
    value: String,
    /// Each program: (code, points, what they pay).
    legs: Vec<(String, String, String)>,
    /// Cash to collect at the counter; none when the points pay it all.
    cash: Option<String>,
    expires: String,
    /// Held and unexpired: the confirm button is shown.
    servable: bool,
}

/// A voucher served today.
struct ServedView {
    at: String,
    code: String,
    title: String,
    member: String,
    cash: Option<String>,
    store: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/redeem.html")]
struct RedeemPage {
    chrome: Chrome,
    form: VoucherForm,
    errors: FieldErrors,
    /// Why the voucher cannot be served, translated.
    refusal: Option<String>,
    voucher: Option<VoucherView>,
    stores: Vec<Store>,
    served: Vec<ServedView>,
}

/// The page as it stands: the merchant's active stores and today's vouchers.
async fn page(
    ctx: &PageContext,
    who: &MerchantPrincipal,
    state: &AppState,
    form: VoucherForm,
) -> Result<RedeemPage, WebError> {
    let (merchant_id, locale, keys) = (who.merchant.id, ctx.locale, state.keys.clone());
    let (stores, served) = state
        .db(move |conn| {
            let stores = store::list(conn, merchant_id)?;
            let since = shanghai::start_of_day(Utc::now());
            let served = redemption::served_since(conn, merchant_id, since, SERVED_TODAY)?;
            let ids: Vec<MemberId> = served.iter().map(|v| v.redemption.member_id).collect();
            let phones = masked_phones(conn, &keys, &ids)?;
            let names: HashMap<StoreId, String> =
                stores.iter().map(|s| (s.id, s.name.clone())).collect();
            let served = served
                .iter()
                .map(|v| ServedView {
                    at: v
                        .redemption
                        .resolved_at
                        .map(|at| format::datetime(at, locale))
                        .unwrap_or_default(),
                    code: v.redemption.voucher_code.clone(),
                    title: v.title(locale).to_owned(),
                    member: phones
                        .get(&v.redemption.member_id)
                        .cloned()
                        .unwrap_or_default(),
                    cash: cash(v.redemption.cash_fen),
                    store: v.redemption.store_id.and_then(|id| names.get(&id).cloned()),
                })
                .collect();
            Ok::<_, WebError>((stores, served))
        })
        .await?;
    Ok(RedeemPage {
        chrome: super::chrome(ctx, who, PAGE),
        form,
        errors: FieldErrors::default(),
        refusal: None,
        voucher: None,
        stores: stores.into_iter().filter(|s| s.active).collect(),
        served,
    })
}

/// Members' masked mobile numbers by id; one that does not decrypt shows none.
fn masked_phones(
    conn: &mut diesel::PgConnection,
    keys: &Keys,
    ids: &[MemberId],
) -> diesel::QueryResult<HashMap<MemberId, String>> {
    Ok(member::find_many(conn, ids)?
        .iter()
        .filter_map(|m| Some((m.id, m.phone(keys).ok()?.masked())))
        .collect())
}

fn cash(fen: i64) -> Option<String> {
    (fen > 0).then(|| format::money(Money::from_fen(fen)))
}

/// The voucher as shown, and why it cannot be served if it cannot.
fn voucher_view(
    voucher: &Voucher,
    member: String,
    locale: Locale,
) -> (VoucherView, Option<String>) {
    let r = &voucher.redemption;
    let refusal = if r.status != RedemptionStatus::Held {
        Some(RedeemError::AlreadyResolved(r.status))
    } else if Utc::now() >= r.expires_at {
        Some(RedeemError::Expired)
    } else {
        None
    };
    let view = VoucherView {
        code: r.voucher_code.clone(),
        title: voucher.title(locale).to_owned(),
        member,
        status_class: match r.status {
            RedemptionStatus::Held => "status-pending",
            RedemptionStatus::Fulfilled => "status-active",
            RedemptionStatus::Cancelled => "status-rejected",
            RedemptionStatus::Expired => "status-expired",
        },
        status_label: locale
            .t(&format!("redemption.status.{}", r.status))
            .into_owned(),
        value: format::money(Money::from_fen(r.value_fen)),
        legs: r
            .legs()
            .into_iter()
            .map(|leg| {
                (
                    leg.program,
                    format::count(leg.points),
                    format::money(Money::from_fen(leg.value_fen)),
                )
            })
            .collect(),
        cash: cash(r.cash_fen),
        expires: format::datetime(r.expires_at, locale),
        servable: refusal.is_none(),
    };
    (view, refusal.and_then(|e| e.message(locale)))
}

/// The merchant's voucher with this code, as shown; none when there is none.
async fn find_voucher(
    state: &AppState,
    merchant_id: MerchantId,
    code: String,
    locale: Locale,
) -> Result<Option<(VoucherView, Option<String>)>, WebError> {
    let keys = state.keys.clone();
    state
        .db(move |conn| {
            let Some(found) = redemption::voucher(conn, merchant_id, &code)? else {
                return Ok(None);
            };
            let member_id = found.redemption.member_id;
            let member = masked_phones(conn, &keys, &[member_id])?
                .remove(&member_id)
                .unwrap_or_default();
            Ok::<_, WebError>(Some(voucher_view(&found, member, locale)))
        })
        .await
}

#[get("/redeem")]
async fn show_redeem(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<RedeemPage, WebError> {
    who.require(REDEEMERS)?;
    page(&ctx, &who, &state, VoucherForm::default()).await
}

/// What the voucher is for and what to collect, before serving it. A POST, so
/// codes stay out of URLs and logs; it changes nothing.
#[post("/redeem/look-up")]
async fn look_up_voucher(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<VoucherForm>,
) -> Result<HttpResponse, WebError> {
    who.require(REDEEMERS)?;
    let parsed = form.parse(ctx.locale);
    let mut page = page(&ctx, &who, &state, form).await?;
    let (code, _) = match parsed {
        Ok(parsed) => parsed,
        Err(errors) => {
            page.errors = errors;
            return unprocessable(&page);
        }
    };
    page.form.code.clone_from(&code);
    match find_voucher(&state, who.merchant.id, code, ctx.locale).await? {
        None => {
            page.refusal = Some(
                RedeemError::UnknownVoucher
                    .message(ctx.locale)
                    .unwrap_or_default(),
            );
            unprocessable(&page)
        }
        Some((view, refusal)) => {
            page.voucher = Some(view);
            page.refusal = refusal;
            if page.refusal.is_some() {
                return unprocessable(&page);
            }
            Ok(HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(page.render()?))
        }
    }
}

/// Serves the voucher: the held points are posted.
#[post("/redeem/confirm")]
async fn confirm_voucher(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<VoucherForm>,
) -> Result<HttpResponse, WebError> {
    who.require(REDEEMERS)?;
    let parsed = form.parse(ctx.locale);
    let mut page = page(&ctx, &who, &state, form).await?;
    let (code, store_id) = match parsed {
        Ok(parsed) => parsed,
        Err(errors) => {
            page.errors = errors;
            return unprocessable(&page);
        }
    };
    let (merchant_id, actor) = (who.merchant.id, who.actor.clone());
    let served_code = code.clone();
    let served = state
        .db(move |conn| {
            Ok::<_, WebError>(redemption::fulfil(
                conn,
                merchant_id,
                &served_code,
                store_id,
                &actor,
            ))
        })
        .await?;
    match served {
        Ok(_) => {
            set_flash(&ctx.session, FlashKind::Success, "redemption_portals.done");
            Ok(see_other(PAGE))
        }
        Err(e) if e.is_refusal() => {
            // Show the voucher again with why, so the cashier can tell the member.
            page.refusal = Some(e.message(ctx.locale).unwrap_or_default());
            page.voucher = find_voucher(&state, merchant_id, code, ctx.locale)
                .await?
                .map(|(view, _)| view)
                .filter(|_| !matches!(e, RedeemError::UnknownVoucher));
            unprocessable(&page)
        }
        Err(e) => Err(flash::system(e)),
    }
}
