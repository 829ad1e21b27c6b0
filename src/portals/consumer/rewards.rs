//! Rewards (权益) in the member app: the catalog of what merchants offer now
//! (search, category, order, "what I can pay for"); a reward's page with the
//! proposed mix of points and cash, editable, to order it (组合兑换); the
//! voucher with its code and QR code to show at the counter; and the member's
//! vouchers.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use serde::Deserialize;

use crate::{
    crypto,
    domain::{
        id::{MemberId, RewardId},
        money::Money,
        points::{PointCount, PointsError, ProgramCode},
    },
    i18n::Locale,
    i18n::format,
    program::{self, Program},
    redemption::{
        self, RedeemError, RedeemRequest, Redemption, RedemptionStatus, VOUCHER_DAYS,
        browse::{self, CATEGORIES, Choices, Filter, Listing, Offered, Sort},
        pay::{self, Shortfall},
    },
    web::{
        auth::{MemberPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        qr,
        state::AppState,
    },
};

use super::{super::see_other, verify_phone};

/// How many vouchers the list shows.
const VOUCHERS: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_catalog)
        .service(show_reward)
        .service(order_reward)
        .service(show_vouchers)
        .service(show_voucher)
        .service(cancel_voucher);
}

/// Program codes to names in the page's language.
pub(super) struct Names(HashMap<String, String>);

impl Names {
    pub(super) fn new(programs: &[Program], locale: Locale) -> Self {
        Self(
            programs
                .iter()
                .map(|p| (p.code.clone(), p.name(locale).to_owned()))
                .collect(),
        )
    }

    fn of(&self, code: &str) -> String {
        self.0.get(code).cloned().unwrap_or_else(|| code.to_owned())
    }
}

/// A reward as a card in the catalog (and the head of its page, and the
/// nearby and "for you" lists).
pub(super) struct Card {
    pub(super) href: String,
    pub(super) image: Option<String>,
    pub(super) initial: String,
    pub(super) tone: usize,
    pub(super) title: String,
    pub(super) merchant: String,
    pub(super) category: String,
    pub(super) value: String,
    pub(super) points: Option<String>,
    pub(super) left_today: Option<String>,
    /// How far its nearest store is, on the nearby and "for you" lists.
    pub(super) distance: Option<String>,
    /// Why it is recommended, on the "for you" list.
    pub(super) reasons: Vec<String>,
}

pub(super) fn card(offered: &Offered, names: &Names, locale: Locale) -> Card {
    let listing = &offered.listing;
    let merchant = listing.merchant_name(locale).to_owned();
    Card {
        href: format!("/consumer/rewards/{}", listing.reward.id),
        image: listing
            .reward
            .image_path
            .as_ref()
            .map(|name| format!("/media/rewards/{name}")),
        initial: merchant
            .chars()
            .next()
            .map(String::from)
            .unwrap_or_default(),
        tone: usize::try_from(listing.reward.merchant_id.0.rem_euclid(6)).unwrap_or_default(),
        title: listing.reward.title(locale).to_owned(),
        category: locale
            .t(&format!(
                "consumer_rewards.category.{}",
                listing.reward.category
            ))
            .into_owned(),
        merchant,
        value: format::money(Money::from_fen(listing.reward.value_fen)),
        points: listing.reward.points_price.map(|points| {
            locale.t_with(
                "consumer_rewards.card.points",
                &[
                    ("points", &format::count(points)),
                    ("program", &names.of(&listing.program_code)),
                ],
            )
        }),
        left_today: offered.remaining.today.map(|left| {
            locale.t_with(
                "consumer_rewards.card.left_today",
                &[("count", &format::count(left))],
            )
        }),
        distance: None,
        reasons: Vec::new(),
    }
}

/// What the catalog was asked for, as in its address.
#[derive(Debug, Default, Clone, Deserialize)]
struct CatalogQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    mine: String,
}

impl CatalogQuery {
    fn category(&self) -> Option<String> {
        CATEGORIES
            .contains(&self.category.as_str())
            .then(|| self.category.clone())
    }

    fn mine(&self) -> bool {
        self.mine == "1"
    }

    /// The catalog's address with this query, one choice changed.
    fn href(&self, category: Option<&str>, mine: bool) -> String {
        let mut pairs = Vec::new();
        if !self.q.trim().is_empty() {
            pairs.push(("q", self.q.trim()));
        }
        if let Some(category) = category {
            pairs.push(("category", category));
        }
        let sort = Sort::parse(&self.sort);
        if sort != Sort::default() {
            pairs.push(("sort", sort.as_str()));
        }
        if mine {
            pairs.push(("mine", "1"));
        }
        if pairs.is_empty() {
            "/consumer/rewards".to_owned()
        } else {
            format!(
                "/consumer/rewards?{}",
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            )
        }
    }
}

struct Chip {
    href: String,
    label: String,
    active: bool,
}

struct SortOption {
    value: &'static str,
    label: String,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/rewards.html")]
struct CatalogPage {
    chrome: Chrome,
    q: String,
    category: String,
    mine: bool,
    all_href: String,
    mine_href: String,
    chips: Vec<Chip>,
    sorts: Vec<SortOption>,
    cards: Vec<Card>,
    /// Whether anything narrows the catalog (for the empty state's wording).
    filtered: bool,
}

#[get("/rewards")]
async fn show_catalog(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<CatalogQuery>,
) -> Result<CatalogPage, WebError> {
    let query = query.into_inner();
    let filter = Filter {
        search: query.q.clone(),
        category: query.category(),
        sort: Sort::parse(&query.sort),
    };
    let (member_id, mine) = (who.member.id, query.mine());
    let (offered, programs) = state
        .db(move |conn| {
            let offered = browse::on_offer(conn, &filter, Utc::now())?;
            let offered = if mine {
                browse::payable(conn, member_id, offered).map_err(flash::system)?
            } else {
                offered
            };
            Ok::<_, WebError>((offered, program::all(conn)?))
        })
        .await?;
    let locale = ctx.locale;
    let names = Names::new(&programs, locale);
    let category = query.category();
    let mut chips = vec![Chip {
        href: query.href(None, mine),
        label: locale.t("consumer_rewards.category.all").into_owned(),
        active: category.is_none(),
    }];
    chips.extend(CATEGORIES.iter().map(|c| {
        Chip {
            href: query.href(Some(c), mine),
            label: locale
                .t(&format!("consumer_rewards.category.{c}"))
                .into_owned(),
            active: category.as_deref() == Some(c),
        }
    }));
    let sort = Sort::parse(&query.sort);
    Ok(CatalogPage {
        chrome: super::chrome(&ctx, &who, "/consumer/rewards"),
        q: query.q.trim().to_owned(),
        category: category.clone().unwrap_or_default(),
        mine,
        all_href: query.href(category.as_deref(), false),
        mine_href: query.href(category.as_deref(), true),
        chips,
        sorts: Sort::ALL
            .iter()
            .map(|s| SortOption {
                value: s.as_str(),
                label: locale
                    .t(&format!("consumer_rewards.sort.{}", s.as_str()))
                    .into_owned(),
                selected: *s == sort,
            })
            .collect(),
        cards: offered.iter().map(|o| card(o, &names, locale)).collect(),
        filtered: mine || category.is_some() || !query.q.trim().is_empty(),
    })
}

/// One program's line of the payment form.
struct PayRow {
    field: String,
    name: String,
    available: String,
    max: i64,
    points: String,
    value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/rewards_detail.html")]
struct RewardPage {
    chrome: Chrome,
    card: Card,
    description: String,
    valid_until: String,
    action: String,
    rows: Vec<PayRow>,
    /// The cash field's value, when the reward takes cash.
    cash: Option<String>,
    request_key: String,
    /// What the entered mix comes to, and how it stands against the value.
    total: String,
    standing: String,
    settles: bool,
    /// Whether anything the member holds (or cash) can pay for it.
    can_pay: bool,
    error: Option<String>,
    voucher_days: i64,
}

/// The payment form as entered (or as proposed): points by program code, the
/// cash in yuan, the order's one-time key.
struct Entered {
    points: HashMap<String, String>,
    cash: String,
    request_key: String,
}

impl Entered {
    fn proposed(choices: &Choices) -> Self {
        let (points, cash) = match &choices.proposal {
            Some(proposal) => (
                proposal
                    .legs
                    .iter()
                    .map(|leg| (leg.program.clone(), leg.points.to_string()))
                    .collect(),
                proposal.cash,
            ),
            None => (HashMap::new(), Money::ZERO),
        };
        Self {
            points,
            cash: yuan(cash),
            request_key: crypto::random_token(),
        }
    }

    fn of_form(form: &HashMap<String, String>) -> Self {
        Self {
            points: form
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("points_")?.to_owned(), v.clone())))
                .collect(),
            cash: form.get("cash").cloned().unwrap_or_default(),
            request_key: form.get("request_key").cloned().unwrap_or_default(),
        }
    }

    /// The order this form makes; the catalog key of what is wrong with it.
    /// Every program the form names counts, not only those the member holds
    /// now: a second submit, after the first has held the points, must name
    /// the same order (the service refuses a program it cannot take).
    fn order(
        &self,
        member_id: MemberId,
        reward_id: RewardId,
    ) -> Result<RedeemRequest, &'static str> {
        let mut codes: Vec<&String> = self.points.keys().collect();
        codes.sort();
        let mut pay = Vec::new();
        for code in codes {
            let program = ProgramCode::parse(code).map_err(|_| "consumer_rewards.error.points")?;
            match self.points_of(code) {
                Ok(Some(points)) => pay.push((program, points)),
                Ok(None) => {}
                Err(_) => return Err("consumer_rewards.error.points"),
            }
        }
        Ok(RedeemRequest {
            member_id,
            reward_id,
            pay,
            cash: self.cash().ok_or("consumer_rewards.error.cash")?,
            request_key: self.request_key.clone(),
        })
    }

    /// The points entered for a program: blank or zero is none.
    fn points_of(&self, code: &str) -> Result<Option<PointCount>, PointsError> {
        let text = self.points.get(code).map_or("", String::as_str);
        PointCount::parse_typed_or_none(text)
    }

    /// The cash entered, blank for none.
    fn cash(&self) -> Option<Money> {
        let text = self.cash.trim().trim_start_matches('¥');
        if text.is_empty() {
            return Some(Money::ZERO);
        }
        Money::parse(text).ok().filter(|m| m.fen() >= 0)
    }
}

/// Money as a form field holds it: `12.40`.
fn yuan(money: Money) -> String {
    format!("{}.{:02}", money.fen() / 100, money.fen() % 100)
}

fn reward_page(
    ctx: &PageContext,
    who: &MemberPrincipal,
    (offered, choices, names): (&Offered, &Choices, &Names),
    entered: &Entered,
    error: Option<String>,
) -> RewardPage {
    let locale = ctx.locale;
    let listing: &Listing = &offered.listing;
    let mut legs = Vec::new();
    let rows = choices
        .payers
        .iter()
        .map(|payer| {
            let points = entered
                .points_of(&payer.code)
                .ok()
                .flatten()
                .map_or(0, PointCount::get);
            let leg = (points > 0)
                .then(|| payer.valuation.leg(&payer.code, points))
                .flatten();
            let value = leg
                .as_ref()
                .map(|l| format::money(Money::from_fen(l.value_fen)))
                .unwrap_or_default();
            legs.extend(leg);
            PayRow {
                field: format!("points_{}", payer.code),
                name: names.of(&payer.code),
                available: format::count(payer.available),
                max: payer.available,
                points: entered.points.get(&payer.code).cloned().unwrap_or_default(),
                value,
            }
        })
        .collect();
    let cash = entered.cash().unwrap_or(Money::ZERO);
    let total = legs.iter().map(|l| l.value_fen).sum::<i64>() + cash.fen();
    let due = Money::from_fen(listing.reward.value_fen);
    let settled = pay::settles(&legs, cash, due);
    let standing = match settled {
        Ok(()) => locale.t("consumer_rewards.pay.settled").into_owned(),
        Err(Shortfall::Short(by)) => locale.t_with(
            "consumer_rewards.pay.short",
            &[("amount", &format::money(by))],
        ),
        Err(Shortfall::Over) => locale.t("consumer_rewards.pay.over").into_owned(),
    };
    RewardPage {
        chrome: super::chrome(ctx, who, "/consumer/rewards"),
        card: card(offered, names, locale),
        description: listing.reward.description(locale).to_owned(),
        valid_until: format::datetime(listing.reward.valid_until, locale),
        action: format!("/consumer/rewards/{}/redeem", listing.reward.id),
        rows,
        cash: listing.reward.cash_topup.then(|| entered.cash.clone()),
        request_key: entered.request_key.clone(),
        total: format::money(Money::from_fen(total)),
        standing,
        settles: settled.is_ok(),
        can_pay: choices.proposal.is_some(),
        error,
        voucher_days: VOUCHER_DAYS,
    }
}

/// The reward on offer, what the member can pay it with, and program names.
async fn reward_of(
    state: &AppState,
    member_id: MemberId,
    reward_id: RewardId,
    locale: Locale,
) -> Result<(Offered, Choices, Names), WebError> {
    let (offered, choices, programs) = state
        .db(move |conn| {
            let offered =
                browse::find_on_offer(conn, reward_id, Utc::now())?.ok_or(WebError::NotFound)?;
            let choices = browse::choices(conn, member_id, reward_id).map_err(flash::system)?;
            Ok::<_, WebError>((offered, choices, program::all(conn)?))
        })
        .await?;
    Ok((offered, choices, Names::new(&programs, locale)))
}

#[get("/rewards/{id}")]
async fn show_reward(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<RewardId>,
) -> Result<RewardPage, WebError> {
    let (offered, choices, names) =
        reward_of(&state, who.member.id, id.into_inner(), ctx.locale).await?;
    let entered = Entered::proposed(&choices);
    Ok(reward_page(
        &ctx,
        &who,
        (&offered, &choices, &names),
        &entered,
        None,
    ))
}

/// Orders the reward with the mix entered, or (`intent=check`) only prices it
/// again. The form's one-time key makes a second submit find the first order.
#[post("/rewards/{id}/redeem")]
async fn order_reward(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<RewardId>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    let reward_id = id.into_inner();
    if let Some(refused) = verify_phone::refuse_unverified(&ctx, &who, "/consumer/rewards") {
        return refused;
    }
    let (offered, choices, names) = reward_of(&state, who.member.id, reward_id, ctx.locale).await?;
    let entered = Entered::of_form(&form);
    let check = form.get("intent").is_some_and(|i| i == "check");
    let error = match entered.order(who.member.id, reward_id) {
        Err(key) => Some(ctx.locale.t(key).into_owned()),
        Ok(_) if check => None,
        Ok(request) => {
            let (actor, locale) = (who.actor.clone(), ctx.locale);
            let ordered = state
                .db(move |conn| flash::refused(redemption::redeem(conn, &request, &actor), locale))
                .await?;
            match ordered {
                Ok(done) => return Ok(see_other(format!("/consumer/vouchers/{}", done.id))),
                Err(message) => Some(message),
            }
        }
    };
    let mut status = if error.is_some() {
        HttpResponse::UnprocessableEntity()
    } else {
        HttpResponse::Ok()
    };
    let page = reward_page(&ctx, &who, (&offered, &choices, &names), &entered, error);
    Ok(status
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

/// A redemption's status as a badge.
fn status_css(status: RedemptionStatus) -> &'static str {
    match status {
        RedemptionStatus::Held => "status-pending",
        RedemptionStatus::Fulfilled => "status-active",
        RedemptionStatus::Cancelled => "status-exited",
        RedemptionStatus::Expired => "status-expired",
    }
}

struct VoucherRow {
    href: String,
    title: String,
    merchant: String,
    at: String,
    value: String,
    status: String,
    status_css: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/vouchers.html")]
struct VouchersPage {
    chrome: Chrome,
    rows: Vec<VoucherRow>,
}

/// The member's redemptions with their rewards, newest first.
async fn mine(
    state: &AppState,
    member_id: MemberId,
) -> Result<(Vec<Redemption>, HashMap<RewardId, Listing>), WebError> {
    state
        .db(move |conn| {
            let redemptions = redemption::of_member(conn, member_id, VOUCHERS)?;
            let ids: Vec<RewardId> = redemptions.iter().map(|r| r.reward_id).collect();
            let listings = browse::listings(conn, &ids)?
                .into_iter()
                .map(|l| (l.reward.id, l))
                .collect();
            Ok::<_, WebError>((redemptions, listings))
        })
        .await
}

#[get("/vouchers")]
async fn show_vouchers(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
) -> Result<VouchersPage, WebError> {
    let (redemptions, listings) = mine(&state, who.member.id).await?;
    let locale = ctx.locale;
    let rows = redemptions
        .iter()
        .map(|r| {
            let listing = listings.get(&r.reward_id);
            VoucherRow {
                href: format!("/consumer/vouchers/{}", r.id),
                title: listing
                    .map(|l| l.reward.title(locale).to_owned())
                    .unwrap_or_default(),
                merchant: listing
                    .map(|l| l.merchant_name(locale).to_owned())
                    .unwrap_or_default(),
                at: format::datetime(r.created_at, locale),
                value: format::money(Money::from_fen(r.value_fen)),
                status: locale
                    .t(&format!("consumer_rewards.status.{}", r.status))
                    .into_owned(),
                status_css: status_css(r.status),
            }
        })
        .collect();
    Ok(VouchersPage {
        chrome: super::chrome(&ctx, &who, "/consumer/rewards"),
        rows,
    })
}

struct PaidRow {
    program: String,
    points: String,
    value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/voucher.html")]
struct VoucherPage {
    chrome: Chrome,
    cancel_action: String,
    title: String,
    merchant: String,
    code: String,
    qr: String,
    status: String,
    status_css: &'static str,
    held: bool,
    expires: String,
    ordered: String,
    value: String,
    paid: Vec<PaidRow>,
    cash: Option<String>,
}

/// `123456789012` → `1234 5678 9012`, as the member reads it out.
fn grouped(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[get("/vouchers/{id}")]
async fn show_voucher(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<VoucherPage, WebError> {
    let (member_id, id) = (who.member.id, id.into_inner());
    let (redemption, listing, programs) = state
        .db(move |conn| {
            let redemption = redemption::find(conn, id)?
                .filter(|r| r.member_id == member_id)
                .ok_or(WebError::NotFound)?;
            let listing = browse::listings(conn, &[redemption.reward_id])?
                .pop()
                .ok_or(WebError::NotFound)?;
            Ok::<_, WebError>((redemption, listing, program::all(conn)?))
        })
        .await?;
    let locale = ctx.locale;
    let names = Names::new(&programs, locale);
    Ok(VoucherPage {
        chrome: super::chrome(&ctx, &who, "/consumer/rewards"),
        cancel_action: format!("/consumer/vouchers/{}/cancel", redemption.id),
        title: listing.reward.title(locale).to_owned(),
        merchant: listing.merchant_name(locale).to_owned(),
        code: grouped(&redemption.voucher_code),
        qr: qr::svg(&redemption.voucher_code)?,
        status: locale
            .t(&format!("consumer_rewards.status.{}", redemption.status))
            .into_owned(),
        status_css: status_css(redemption.status),
        held: redemption.status == RedemptionStatus::Held,
        expires: format::datetime(redemption.expires_at, locale),
        ordered: format::datetime(redemption.created_at, locale),
        value: format::money(Money::from_fen(redemption.value_fen)),
        paid: redemption
            .legs()
            .iter()
            .map(|leg| PaidRow {
                program: names.of(&leg.program),
                points: format::count(leg.points),
                value: format::money(Money::from_fen(leg.value_fen)),
            })
            .collect(),
        cash: (redemption.cash_fen > 0)
            .then(|| format::money(Money::from_fen(redemption.cash_fen))),
    })
}

#[derive(Deserialize)]
struct CancelForm {}

/// Calls the voucher off: the points come back, the reward returns to stock.
#[post("/vouchers/{id}/cancel")]
async fn cancel_voucher(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(_): CsrfForm<CancelForm>,
) -> Result<HttpResponse, WebError> {
    let (member_id, id, actor) = (who.member.id, id.into_inner(), who.actor.clone());
    let cancelled = state
        .db(move |conn| flash::refusal(redemption::cancel(conn, member_id, id, &actor)))
        .await?;
    match cancelled {
        Ok(_) => set_flash(
            &ctx.session,
            FlashKind::Success,
            "consumer_rewards.voucher.cancelled",
        ),
        Err(RedeemError::UnknownVoucher) => return Err(WebError::NotFound),
        Err(_) => set_flash(
            &ctx.session,
            FlashKind::Error,
            "consumer_rewards.voucher.not_cancelled",
        ),
    }
    Ok(see_other(format!("/consumer/vouchers/{id}")))
}
