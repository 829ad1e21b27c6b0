//! The operators' home: the alliance at a glance (`crate::overview`) — trends
//! per day, week or month with a chart each, and where money and work stand
//! now. Every figure carries an id so tests and monitoring can read it.

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::{
    domain::{id::MerchantId, money::Money, shanghai},
    i18n::Locale,
    i18n::format,
    ledger, merchant,
    overview::{Overview, Trend, grain::Grain},
    web::{
        auth::{OperatorPrincipal, Signed},
        bar_chart::BarChart,
        context::PageContext,
        error::WebError,
        flash,
        page::Chrome,
        state::AppState,
    },
};

/// Merchants listed under deposit coverage; the least covered come first.
const COVERAGE_ROWS: usize = 10;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_dashboard);
}

#[derive(Deserialize)]
struct DashboardQuery {
    #[serde(default)]
    grain: String,
}

/// One figure with its trend.
pub struct TrendCard {
    /// The element id's suffix: `figure-{key}`.
    pub key: &'static str,
    pub label: String,
    /// The running period's figure, formatted.
    pub value: String,
    /// The last whole period's figure, formatted.
    pub previous: String,
    /// `12.5%` and its class (`delta-up`, `delta-down`, or none when flat);
    /// None with nothing to compare.
    pub change: Option<(String, &'static str)>,
    /// Going up is bad news (expired points).
    pub up_is_bad: bool,
    pub chart: BarChart,
}

pub struct GrainTab {
    pub href: String,
    pub label: String,
    pub current: bool,
}

pub struct LiabilityRow {
    pub asset: String,
    pub name: String,
    pub points: String,
    pub value: String,
    /// Share of the total, 0–100, for the bar.
    pub share: i64,
}

pub struct CoverageRow {
    pub merchant_id: MerchantId,
    pub name: String,
    pub balance: String,
    pub required: String,
    pub coverage: String,
    pub bar: i64,
    /// covered / short / blocked.
    pub cover: &'static str,
    pub cover_label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    grains: Vec<GrainTab>,
    /// "This week so far" and the like.
    running: String,
    trends: Vec<TrendCard>,
    merchants: String,
    payouts_count: String,
    payouts_amount: String,
    collections_open: String,
    collections_overdue: i64,
    collections_amount: String,
    alerts_critical: i64,
    alerts_warning: i64,
    approvals: i64,
    /// When the books were last proven, and whether they were clean.
    last_verify: Option<(String, bool)>,
    /// Links are offered only to the pages the operator's role may open.
    reads_books: bool,
    reads_settlement: bool,
    liability: Vec<LiabilityRow>,
    liability_total: String,
    coverage: Vec<CoverageRow>,
    coverage_more: usize,
}

#[get("")]
async fn show_dashboard(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<DashboardQuery>,
) -> Result<DashboardPage, WebError> {
    // An unknown grain is a hand-edited link: show the default rather than fail.
    let grain = Grain::parse(&query.grain).unwrap_or_default();
    let today = shanghai::date_of(chrono::Utc::now());
    let (overview, merchants, last_verify) = state
        .db(move |conn| {
            Ok::<_, WebError>((
                Overview::compute(conn, grain, today).map_err(flash::system)?,
                merchant::count_active(conn)?,
                ledger::last_verification(conn)?,
            ))
        })
        .await?;
    let locale = ctx.locale;
    let role = who.operator.role;
    let total_fen = overview.liability_total.fen();
    let coverage_more = overview.coverage.len().saturating_sub(COVERAGE_ROWS);
    Ok(DashboardPage {
        chrome: super::chrome(&ctx, &who, "/platform"),
        grains: Grain::ALL
            .into_iter()
            .map(|g| GrainTab {
                href: format!("/platform?grain={}", g.as_str()),
                label: locale
                    .t(&format!("overview.grain.{}", g.as_str()))
                    .into_owned(),
                current: g == grain,
            })
            .collect(),
        running: locale
            .t(&format!("overview.running.{}", grain.as_str()))
            .into_owned(),
        trends: trend_cards(&overview, locale),
        merchants: format::count(merchants),
        payouts_count: format::count(overview.payouts.count),
        payouts_amount: format::money(overview.payouts.amount),
        collections_open: format::count(overview.collections.open + overview.collections.overdue),
        collections_overdue: overview.collections.overdue,
        collections_amount: format::money(overview.collections.amount),
        alerts_critical: overview.alerts_critical,
        alerts_warning: overview.alerts_warning,
        approvals: overview.approvals,
        last_verify: last_verify.map(|v| (format::datetime(v.finished_at, locale), v.clean)),
        reads_books: super::books::BOOK_READERS.contains(&role),
        reads_settlement: super::settlement::SETTLEMENT_READERS.contains(&role),
        liability: overview
            .liability
            .iter()
            .map(|row| LiabilityRow {
                asset: row.asset.clone(),
                name: row.name.clone(),
                points: format::count(row.points),
                value: format::money(row.value),
                share: share_percent(row.value.fen(), total_fen),
            })
            .collect(),
        liability_total: format::money(overview.liability_total),
        coverage: overview
            .coverage
            .iter()
            .take(COVERAGE_ROWS)
            .map(|row| {
                let cover = row.position.cover().as_str();
                CoverageRow {
                    merchant_id: row.merchant.id,
                    name: row.merchant.name(locale).to_owned(),
                    balance: format::money(row.position.balance),
                    required: format::money(row.position.requirement.required),
                    coverage: row.position.coverage().to_string(),
                    bar: row.position.coverage().percent_capped(),
                    cover,
                    cover_label: locale.t(&format!("overview.cover.{cover}")).into_owned(),
                }
            })
            .collect(),
        coverage_more,
    })
}

fn share_percent(part: i64, total: i64) -> i64 {
    if total <= 0 {
        return 0;
    }
    i64::try_from(i128::from(part.max(0)) * 100 / i128::from(total)).unwrap_or(100)
}

/// How a trend's figures read: counts or money.
#[derive(Clone, Copy)]
enum Unit {
    Count,
    Fen,
}

impl Unit {
    fn show(self, value: i64) -> String {
        match self {
            Self::Count => format::count(value),
            Self::Fen => format::money(Money::from_fen(value)),
        }
    }
}

fn trend_cards(overview: &Overview, locale: Locale) -> Vec<TrendCard> {
    let cards: [(&'static str, &Trend, Unit, bool); 8] = [
        ("members", &overview.members, Unit::Count, false),
        ("new_members", &overview.new_members, Unit::Count, false),
        (
            "active_members",
            &overview.active_members,
            Unit::Count,
            false,
        ),
        ("issued", &overview.issued, Unit::Fen, false),
        ("redeemed", &overview.redeemed, Unit::Fen, false),
        ("exchanged", &overview.exchanged, Unit::Fen, false),
        ("expired", &overview.expired, Unit::Fen, true),
        ("fees", &overview.fees, Unit::Fen, false),
    ];
    cards
        .into_iter()
        .map(|(key, trend, unit, up_is_bad)| {
            let label = locale.t(&format!("overview.figure.{key}")).into_owned();
            let points = overview
                .starts
                .iter()
                .zip(&trend.values)
                .map(|(start, value)| {
                    (
                        period_label(overview.grain, *start),
                        *value,
                        unit.show(*value),
                    )
                })
                .collect();
            TrendCard {
                key,
                value: unit.show(trend.current()),
                previous: unit.show(trend.previous()),
                change: trend.change_permille().map(|permille| {
                    let tenths = permille.unsigned_abs();
                    let direction = match permille.signum() {
                        1 => "delta delta-up",
                        -1 => "delta delta-down",
                        _ => "delta",
                    };
                    (format!("{}.{}%", tenths / 10, tenths % 10), direction)
                }),
                up_is_bad,
                chart: BarChart::draw(label.clone(), points),
                label,
            }
        })
        .collect()
}

/// `2026-11-22`, or `2026-11-16 – 2026-11-22` for a week or month.
fn period_label(grain: Grain, start: NaiveDate) -> String {
    match grain {
        Grain::Day => start.to_string(),
        Grain::Week | Grain::Month => {
            let last = grain
                .next(start)
                .pred_opt()
                .expect("a period has a last day");
            format!("{start} – {last}")
        }
    }
}
