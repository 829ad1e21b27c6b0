//! "All my points" (我的积分): the member's wallet (see `crate::wallet`) with
//! what lapses in the next 30 days, a few rewards they can pay for now, rewards
//! near where they say they are, and their latest movements across all
//! programs — each section a door to its full page.

use std::collections::HashMap;

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{Duration, Utc};

use crate::{
    domain::money::Money,
    earn::lot::{self, Lot},
    i18n::Locale,
    i18n::format,
    program,
    redemption::{
        browse::{self, Filter},
        nearby,
    },
    wallet::{self, Movement, Values},
    web::{
        auth::{MemberPrincipal, Signed},
        context::PageContext,
        error::WebError,
        flash,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    super::merchant::deposit::signed,
    location::{self, LocationQuery, Picker},
    rewards::{Card, Names, card},
};

/// How far ahead "expires soon" looks.
const EXPIRY_DAYS: i64 = 30;
/// Rewards shown in each of the two reward sections.
const REWARDS_SHOWN: usize = 4;
/// Movements in "recent activity".
const MOVEMENTS: u16 = 10;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_home);
}

pub struct BalanceRow {
    pub program: String,
    pub code: String,
    pub available: String,
    /// Points held by open redemptions.
    pub held: Option<String>,
    /// What the available points are worth; None where no settlement value is
    /// agreed (the hub points).
    pub value: Option<String>,
}

/// One program's points lapsing soon: its total, and each date with its points.
pub struct ExpiringGroup {
    pub program: String,
    pub code: String,
    pub points: String,
    pub value: Option<String>,
    pub lots: Vec<ExpiringLot>,
}

pub struct ExpiringLot {
    pub on: String,
    pub points: String,
    pub value: Option<String>,
}

/// A movement as "recent activity" lists it.
pub struct MovementRow {
    pub at: String,
    pub program: String,
    /// What happened, in words (earned, redeemed, …).
    pub what: String,
    /// Signed: `+1,000`, `-500`.
    pub points: String,
    pub incoming: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/home.html")]
struct HomePage {
    chrome: Chrome,
    name: String,
    /// The member has not proven their number: spending waits for it.
    verify_phone: bool,
    balances: Vec<BalanceRow>,
    total_value: String,
    expiring: Vec<ExpiringGroup>,
    expiry_days: i64,
    affordable: Vec<Card>,
    picker: Picker,
    /// Whether a place was given, so the nearby list means something.
    located: bool,
    nearby: Vec<Card>,
    /// The nearby page from the same place.
    nearby_href: String,
    movements: Vec<MovementRow>,
}

fn internal(e: impl Into<anyhow::Error>) -> WebError {
    WebError::Internal(e.into())
}

#[get("")]
#[tracing::instrument(skip_all)]
async fn show_home(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<LocationQuery>,
) -> Result<HomePage, WebError> {
    let locale = ctx.locale;
    let member_id = who.member.id;
    let located = query.locate();
    // A bad location is reported by the picker; the rest of the page stands.
    let here = located.as_ref().ok().copied().flatten();
    let now = Utc::now();
    let horizon = now + Duration::days(EXPIRY_DAYS);
    let (wallet, lots, values, affordable, near, movements, programs) = state
        .db(move |conn| {
            let wallet = wallet::of_member(conn, member_id).map_err(flash::system)?;
            // Soonest first, so the lots due within the horizon lead.
            let lots: Vec<Lot> = lot::upcoming(conn, member_id)?
                .into_iter()
                .take_while(|lot| lot.expires_at.is_some_and(|at| at <= horizon))
                .collect();
            let offered = browse::on_offer(conn, &Filter::default(), now)?;
            let affordable = browse::first_payable(conn, member_id, offered, REWARDS_SHOWN)
                .map_err(flash::system)?;
            let near = match here {
                Some(here) => {
                    let mut near = nearby::rewards(conn, here.point, now)?;
                    near.truncate(REWARDS_SHOWN);
                    near
                }
                None => Vec::new(),
            };
            Ok::<_, WebError>((
                wallet,
                lots,
                Values::load(conn)?,
                affordable,
                near,
                wallet::recent_movements(conn, member_id, MOVEMENTS)?,
                program::all(conn)?,
            ))
        })
        .await?;
    // Programs by their name in the page's language; the ledger's asset name
    // for what has no program row.
    let program_names: HashMap<String, String> = wallet
        .balances
        .iter()
        .map(|b| (b.code.clone(), b.name.clone()))
        .chain(
            programs
                .iter()
                .map(|p| (p.code.clone(), p.name(locale).to_owned())),
        )
        .collect();
    let name_of = |code: &str| {
        program_names
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    };
    let names = Names::new(&programs, locale);
    Ok(HomePage {
        chrome: super::chrome(&ctx, &who, "/consumer"),
        name: who.member.display_name.clone(),
        verify_phone: !who.member.phone_verified(),
        total_value: format::money(wallet.total_value),
        balances: wallet
            .balances
            .into_iter()
            .map(|b| BalanceRow {
                program: name_of(&b.code),
                code: b.code,
                available: format::count(b.available),
                held: (b.held > 0).then(|| format::count(b.held)),
                value: b.value.map(format::money),
            })
            .collect(),
        expiring: expiring_groups(&lots, &values, &name_of, locale)?,
        expiry_days: EXPIRY_DAYS,
        affordable: affordable
            .iter()
            .map(|(offered, proposal)| Card {
                reasons: vec![paid_with(proposal.cash, locale)],
                ..card(offered, &names, locale)
            })
            .collect(),
        picker: location::picker("/consumer", &located, locale),
        located: here.is_some(),
        nearby: near
            .iter()
            .map(|near| Card {
                distance: Some(location::distance(near.distance_m, locale)),
                ..card(&near.offered, &names, locale)
            })
            .collect(),
        nearby_href: match here {
            Some(here) => format!("/consumer/nearby?{}", here.query()),
            None => "/consumer/nearby".to_owned(),
        },
        movements: movements
            .iter()
            .map(|m| movement_row(m, &name_of(&m.code), locale))
            .collect(),
    })
}

/// The lots grouped by program, the program whose points lapse first leading;
/// inside a group, soonest first (the order `lots` come in).
fn expiring_groups(
    lots: &[Lot],
    values: &Values,
    name_of: &dyn Fn(&str) -> String,
    locale: Locale,
) -> Result<Vec<ExpiringGroup>, WebError> {
    let value = |code: &str, points: i64| -> Result<Option<String>, WebError> {
        Ok(values
            .of(code, points)
            .map_err(internal)?
            .map(format::money))
    };
    let mut order: Vec<&str> = Vec::new();
    let mut by_program: HashMap<&str, Vec<&Lot>> = HashMap::new();
    for lot in lots {
        let code = lot.program_code.as_str();
        if !by_program.contains_key(code) {
            order.push(code);
        }
        by_program.entry(code).or_default().push(lot);
    }
    order
        .into_iter()
        .map(|code| {
            let lots = &by_program[code];
            let total: i64 = lots.iter().map(|l| l.remaining).sum();
            Ok(ExpiringGroup {
                program: name_of(code),
                code: code.to_owned(),
                points: format::count(total),
                value: value(code, total)?,
                lots: lots
                    .iter()
                    .filter_map(|l| Some((l.expires_at?, l.remaining)))
                    .map(|(at, points)| {
                        Ok(ExpiringLot {
                            on: format::datetime(at, locale),
                            points: format::count(points),
                            value: value(code, points)?,
                        })
                    })
                    .collect::<Result<_, WebError>>()?,
            })
        })
        .collect()
}

/// How the proposed mix pays: points alone, or points and the cash to add.
fn paid_with(cash: Money, locale: Locale) -> String {
    if cash == Money::ZERO {
        locale.t("homes.affordable.points_only").into_owned()
    } else {
        locale.t_with(
            "homes.affordable.with_cash",
            &[("cash", &format::money(cash))],
        )
    }
}

/// What a journal entry of `kind` did to the member's points, in words.
fn movement_label(kind: &str, locale: Locale) -> String {
    let known = ["earn", "reverse", "redeem", "exchange", "expire", "adjust"];
    let kind = if known.contains(&kind) { kind } else { "other" };
    locale
        .t(&format!("homes.activity.kind.{kind}"))
        .into_owned()
}

fn movement_row(movement: &Movement, program: &str, locale: Locale) -> MovementRow {
    MovementRow {
        at: format::datetime(movement.at, locale),
        program: program.to_owned(),
        what: movement_label(&movement.kind, locale),
        points: signed(&format::count(movement.points.abs()), movement.points),
        incoming: movement.points >= 0,
    }
}
