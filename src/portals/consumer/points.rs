//! Points detail (积分明细): programmes leaving the alliance in which the
//! member holds points (with when what is left converts into ALP), what lapses
//! when in each program, the member's tier and how far the next one is, and
//! every purchase that earned points with what refunds took back.

use std::collections::{BTreeMap, HashMap};

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;

use crate::{
    domain::money::Money,
    earn::{self, lot::Lot, tier::MemberTier},
    exit::notice,
    i18n::format,
    merchant, program,
    web::{
        auth::{MemberPrincipal, Signed},
        context::PageContext,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

/// How many earns the history shows.
const HISTORY: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_points);
}

struct ExpiryGroup {
    program: String,
    code: String,
    /// When, and how many points lapse then.
    lots: Vec<(String, String)>,
}

/// A programme leaving the alliance, with the member's points in it.
struct LeavingView {
    program: String,
    code: String,
    points: String,
    value: String,
    converts_on: String,
}

struct TierView {
    name: String,
    bonus: String,
    spend: String,
    /// The next tier's name and what is left to spend to reach it.
    next: Option<(String, String)>,
    /// 0–100 towards the next tier.
    progress: i64,
}

struct HistoryRow {
    at: String,
    merchant: String,
    amount: String,
    points: String,
    program: String,
    refunded: Option<String>,
    reversed: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/points.html")]
struct PointsPage {
    chrome: Chrome,
    leaving: Vec<LeavingView>,
    tier: TierView,
    expiring: Vec<ExpiryGroup>,
    history: Vec<HistoryRow>,
}

fn tier_view(
    current: &MemberTier,
    ladder: &[MemberTier],
    spend_fen: i64,
    locale: crate::i18n::Locale,
) -> TierView {
    let next = ladder.iter().find(|t| t.rank > current.rank);
    TierView {
        name: current.name(locale).to_owned(),
        bonus: rust_decimal::Decimal::new(current.earn_bonus_bp.into(), 2)
            .normalize()
            .to_string(),
        spend: format::money(Money::from_fen(spend_fen)),
        next: next.map(|t| {
            (
                t.name(locale).to_owned(),
                format::money(Money::from_fen((t.upgrade_spend_fen - spend_fen).max(0))),
            )
        }),
        progress: next.map_or(100, |t| {
            (spend_fen.max(0).saturating_mul(100) / t.upgrade_spend_fen.max(1)).min(100)
        }),
    }
}

#[get("/points")]
async fn show_points(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
) -> Result<PointsPage, WebError> {
    let member_id = who.member.id;
    let (leaving, lots, orders, current, ladder, spend, programs, merchants) = state
        .db(move |conn| {
            let orders = earn::orders_of_member(conn, member_id, HISTORY)?;
            let mut merchants = HashMap::new();
            for order in &orders {
                if !merchants.contains_key(&order.merchant_id)
                    && let Some(m) = merchant::find(conn, order.merchant_id)?
                {
                    merchants.insert(m.id, m);
                }
            }
            Ok::<_, diesel::result::Error>((
                notice::for_member(conn, member_id)?,
                earn::lot::upcoming(conn, member_id)?,
                orders,
                earn::tier::of_member(conn, member_id)?,
                earn::tier::ladder(conn)?,
                earn::tier::trailing_spend(conn, member_id, Utc::now())?,
                program::all(conn)?,
                merchants,
            ))
        })
        .await?;
    let locale = ctx.locale;
    let names: HashMap<&str, &str> = programs
        .iter()
        .map(|p| (p.code.as_str(), p.name(locale)))
        .collect();
    let program_name = |code: &str| {
        names.get(code).map_or_else(
            || {
                locale
                    .t(&format!("earning_portals.points.program.{code}"))
                    .into_owned()
            },
            |n| (*n).to_owned(),
        )
    };
    // Lots come soonest first; grouped by program in code order.
    let mut by_program: BTreeMap<&str, Vec<&Lot>> = BTreeMap::new();
    for lot in &lots {
        by_program
            .entry(lot.program_code.as_str())
            .or_default()
            .push(lot);
    }
    let expiring = by_program
        .into_iter()
        .map(|(code, lots)| ExpiryGroup {
            program: program_name(code),
            code: code.to_owned(),
            lots: lots
                .iter()
                .filter_map(|l| {
                    Some((
                        format::datetime(l.expires_at?, locale),
                        format::count(l.remaining),
                    ))
                })
                .collect(),
        })
        .collect();
    let history = orders
        .iter()
        .map(|o| HistoryRow {
            at: format::datetime(o.occurred_at, locale),
            merchant: merchants
                .get(&o.merchant_id)
                .map(|m| m.name(locale).to_owned())
                .unwrap_or_default(),
            amount: format::money(Money::from_fen(o.amount_fen)),
            points: format::count(o.points),
            program: program_name(o.program_code.as_str()),
            refunded: (o.refunded_fen > 0).then(|| format::money(Money::from_fen(o.refunded_fen))),
            reversed: (o.points_reversed + o.points_unrecovered > 0)
                .then(|| format::count(o.points_reversed + o.points_unrecovered)),
        })
        .collect();
    Ok(PointsPage {
        chrome: super::chrome(&ctx, &who, "/consumer/points"),
        leaving: leaving
            .iter()
            .map(|n| LeavingView {
                program: n.program(locale).to_owned(),
                code: n.program_code.clone(),
                points: format::count(n.points),
                value: format::money(n.value()),
                converts_on: format::datetime(n.notice_ends_at, locale),
            })
            .collect(),
        tier: tier_view(&current, &ladder, spend, locale),
        expiring,
        history,
    })
}
