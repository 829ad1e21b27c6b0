//! Exchange management (积分通兑管理 / 动态汇率模型): the rate in force for every
//! program and where it comes from, publishing the model on demand, the flow
//! matrix and fee revenue over a period of Shanghai days, and the exchange
//! policy. Each program's page (`rate_page`) charts and explains its rate and
//! holds its overrides. Everyone may look; admins and operators change things.

mod chart;
mod rate_page;

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::{
    domain::{money::Money, shanghai},
    error::Classify,
    exchange::{
        flows::{self, DailyRevenue, FlowCell},
        overrides::{self, Listed},
        policy::{self, ExchangePolicy, PolicyError},
        rates::{self, CurrentRate, Publication, Source, Trigger},
    },
    i18n::Locale,
    i18n::format,
    people::operator::OperatorRole,
    program::{self, Program},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::{
    super::{
        merchant::form::{FieldErrors, unprocessable},
        see_other,
    },
    action::Action,
};

/// Who publishes rates, pins overrides and sets the policy and limits
/// (`overrides::OVERRIDERS`); every operator may look.
const RATE_KEEPERS: &[OperatorRole] = &[OperatorRole::Admin, OperatorRole::Operator];
const PAGE: &str = "/platform/exchange";
const PUBLICATIONS_SHOWN: i64 = 8;
const OVERRIDES_SCANNED: i64 = 500;
/// The default period: today and the six days before it.
const DEFAULT_PERIOD_DAYS: i64 = 7;
/// The longest period the reports cover at once.
const MAX_PERIOD_DAYS: i64 = 366;
const DAY: &str = "%Y-%m-%d";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(overview)
        .service(recompute)
        .service(update_policy)
        .configure(rate_page::routes);
}

fn can_keep(who: &OperatorPrincipal) -> bool {
    RATE_KEEPERS.contains(&who.operator.role)
}

/// `10.00% (1000 bp)`.
fn bp(value: i32) -> String {
    format!("{:.2}% ({value} bp)", f64::from(value) / 100.0)
}

fn yuan(fen: i64) -> String {
    format::money(Money::from_fen(fen))
}

/// Where a rate comes from, in words.
fn source_label(rate: &CurrentRate, locale: Locale) -> String {
    match &rate.source {
        Source::Model { publication_id } => locale.t_with(
            "platform_exchange.source.model",
            &[("id", &publication_id.to_string())],
        ),
        Source::Override { ends_at, .. } => locale.t_with(
            "platform_exchange.source.override",
            &[("until", &format::datetime(*ends_at, locale))],
        ),
        Source::Unpublished => locale
            .t("platform_exchange.source.unpublished")
            .into_owned(),
    }
}

/// An override's state: its label and the style of its badge.
fn state_badge(state: &str, locale: Locale) -> (&'static str, String) {
    let css = match state {
        "active" => "active",
        "pending" | "scheduled" => "pending",
        "rejected" | "failed" => "rejected",
        _ => "expired",
    };
    (
        css,
        locale
            .t(&format!("platform_exchange.override.state.{state}"))
            .into_owned(),
    )
}

struct RateRow {
    code: String,
    name: String,
    settlement: String,
    band: String,
    sell: String,
    buy: String,
    mid: String,
    source: String,
    overridden: bool,
    /// Overrides waiting for a second operator.
    pending: usize,
}

struct PublicationRow {
    id: i64,
    trigger: String,
    by: String,
    at: String,
    window_start: String,
}

impl PublicationRow {
    fn of(p: &Publication, locale: Locale) -> Self {
        Self {
            id: p.id,
            trigger: locale
                .t(&format!("platform_exchange.trigger.{}", p.trigger))
                .into_owned(),
            by: p.published_by.clone(),
            at: format::datetime(p.published_at, locale),
            window_start: format::datetime(p.window_start, locale),
        }
    }
}

/// One cell of the flow matrix.
struct CellView {
    count: String,
    points: String,
    value: String,
}

struct MatrixRow {
    code: String,
    cells: Vec<Option<CellView>>,
}

struct DayRow {
    day: String,
    count: String,
    value: String,
    fee: String,
    /// 0–100 of the busiest day's fee, for the bar.
    bar: i64,
}

/// The period of the reports, as the date inputs show it.
#[derive(Debug, Default, Deserialize)]
struct PeriodQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// Whole Shanghai days, `from` to `to` inclusive.
#[derive(Debug, Clone, Copy)]
struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    /// The chosen days; the last week when they are missing, malformed,
    /// reversed or too long.
    fn of(query: &PeriodQuery) -> Self {
        let to_day = shanghai::date_of(Utc::now());
        let fallback = Self {
            from: to_day - Duration::days(DEFAULT_PERIOD_DAYS - 1),
            to: to_day,
        };
        let parse = |text: &str| NaiveDate::parse_from_str(text.trim(), DAY).ok();
        match (parse(&query.from), parse(&query.to)) {
            (Some(from), Some(to)) if from <= to && (to - from).num_days() < MAX_PERIOD_DAYS => {
                Self { from, to }
            }
            _ => fallback,
        }
    }

    fn range(self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            shanghai::midnight(self.from),
            shanghai::midnight(self.to + Duration::days(1)),
        )
    }
}

#[derive(Debug, Default, Deserialize)]
struct PolicyForm {
    band_bp: String,
    flow_sensitivity_bp: String,
    value_margin_bp: String,
    flow_window_hours: String,
    flow_floor: String,
    quote_ttl_seconds: String,
    override_review_bp: String,
    real_name_threshold: String,
}

impl PolicyForm {
    fn of(p: &ExchangePolicy) -> Self {
        Self {
            band_bp: p.band_bp.to_string(),
            flow_sensitivity_bp: p.flow_sensitivity_bp.to_string(),
            value_margin_bp: p.value_margin_bp.to_string(),
            flow_window_hours: p.flow_window_hours.to_string(),
            flow_floor: Money::from_fen(p.flow_floor_fen).to_string(),
            quote_ttl_seconds: p.quote_ttl_seconds.to_string(),
            override_review_bp: p.override_review_bp.to_string(),
            real_name_threshold: Money::from_fen(p.real_name_threshold_fen).to_string(),
        }
    }

    /// The policy the form asks for, or the first field that does not parse.
    fn parse(&self) -> Result<ExchangePolicy, &'static str> {
        fn int(text: &str, field: &'static str) -> Result<i32, &'static str> {
            text.trim().parse().map_err(|_| field)
        }
        fn fen(text: &str, field: &'static str) -> Result<i64, &'static str> {
            Money::parse(text.trim()).map(Money::fen).map_err(|_| field)
        }
        Ok(ExchangePolicy {
            band_bp: int(&self.band_bp, "band_bp")?,
            flow_sensitivity_bp: int(&self.flow_sensitivity_bp, "flow_sensitivity_bp")?,
            value_margin_bp: int(&self.value_margin_bp, "value_margin_bp")?,
            flow_window_hours: int(&self.flow_window_hours, "flow_window_hours")?,
            flow_floor_fen: fen(&self.flow_floor, "flow_floor")?,
            quote_ttl_seconds: int(&self.quote_ttl_seconds, "quote_ttl_seconds")?,
            override_review_bp: int(&self.override_review_bp, "override_review_bp")?,
            real_name_threshold_fen: fen(&self.real_name_threshold, "real_name_threshold")?,
        })
    }
}

/// The form field of a policy field the domain refused (money is entered in
/// CNY, stored in fen).
fn policy_error(field: &'static str, locale: Locale) -> FieldErrors {
    FieldErrors::one(
        field,
        locale
            .t(&format!("platform_exchange.policy.error.{field}"))
            .into_owned(),
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/exchange/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    can_edit: bool,
    rows: Vec<RateRow>,
    publications: Vec<PublicationRow>,
    from: String,
    to: String,
    codes: Vec<String>,
    matrix: Vec<MatrixRow>,
    exchanges: String,
    value_total: String,
    fee_total: String,
    days: Vec<DayRow>,
    form: PolicyForm,
    errors: FieldErrors,
    policy_updated: String,
}

struct Overview {
    programs: Vec<Program>,
    rates: Vec<CurrentRate>,
    overrides: Vec<Listed>,
    publications: Vec<Publication>,
    cells: Vec<FlowCell>,
    revenue: Vec<DailyRevenue>,
    policy: ExchangePolicy,
    policy_updated: DateTime<Utc>,
}

/// The rates table: each program's rate in force and its overrides' state.
fn rate_rows(data: &Overview, locale: Locale) -> Vec<RateRow> {
    let now = Utc::now();
    let mut pending: HashMap<&str, usize> = HashMap::new();
    for listed in &data.overrides {
        if listed.state(now) == "pending" {
            *pending
                .entry(listed.pinned.program_code.as_str())
                .or_default() += 1;
        }
    }
    let names: HashMap<&str, &str> = data
        .programs
        .iter()
        .map(|p| (p.code.as_str(), p.name(locale)))
        .collect();
    data.rates
        .iter()
        .map(|r| RateRow {
            code: r.program_code.clone(),
            name: names
                .get(r.program_code.as_str())
                .copied()
                .unwrap_or_default()
                .to_owned(),
            settlement: r.settlement.to_string(),
            band: format!("{} – {}", r.band.0, r.band.1),
            sell: r.sell.to_string(),
            buy: r.buy.to_string(),
            mid: r.model.mid.to_string(),
            source: source_label(r, locale),
            overridden: matches!(r.source, Source::Override { .. }),
            pending: pending
                .get(r.program_code.as_str())
                .copied()
                .unwrap_or_default(),
        })
        .collect()
}

/// The flow matrix: a row per program exchanged out of, a cell per program
/// exchanged into.
fn matrix_rows(codes: &[String], cells: &[FlowCell], locale: Locale) -> Vec<MatrixRow> {
    let cell_of: HashMap<(&str, &str), &FlowCell> = cells
        .iter()
        .map(|c| ((c.from_program.as_str(), c.to_program.as_str()), c))
        .collect();
    codes
        .iter()
        .map(|from| MatrixRow {
            code: from.clone(),
            cells: codes
                .iter()
                .map(|to| {
                    cell_of
                        .get(&(from.as_str(), to.as_str()))
                        .map(|c| CellView {
                            count: format::count(c.count),
                            points: locale.t_with(
                                "platform_exchange.flows.points",
                                &[
                                    ("from", &format::count(c.from_points)),
                                    ("to", &format::count(c.to_points)),
                                ],
                            ),
                            value: yuan(c.value_out_fen),
                        })
                })
                .collect(),
        })
        .collect()
}

async fn page(
    ctx: &PageContext,
    who: &OperatorPrincipal,
    state: &AppState,
    period: Period,
    form: Option<PolicyForm>,
    errors: FieldErrors,
) -> Result<OverviewPage, WebError> {
    let (from, until) = period.range();
    let data = state
        .db(move |conn| {
            Ok::<_, WebError>(Overview {
                programs: program::all(conn)?,
                rates: rates::current_all(conn)?,
                overrides: overrides::list(conn, None, OVERRIDES_SCANNED)?,
                publications: rates::recent_publications(conn, PUBLICATIONS_SHOWN)?,
                cells: flows::matrix(conn, from, until)?,
                revenue: flows::revenue_by_day(conn, from, until)?,
                policy: policy::current(conn)?,
                policy_updated: policy::updated_at(conn)?,
            })
        })
        .await?;
    let locale = ctx.locale;
    let rows = rate_rows(&data, locale);
    let codes: Vec<String> = data.programs.iter().map(|p| p.code.clone()).collect();
    let matrix = matrix_rows(&codes, &data.cells, locale);
    let busiest = data
        .revenue
        .iter()
        .map(|d| d.house_fen)
        .max()
        .unwrap_or(0)
        .max(1);
    Ok(OverviewPage {
        chrome: super::chrome(ctx, who, PAGE),
        can_edit: can_keep(who),
        rows,
        publications: data
            .publications
            .iter()
            .map(|p| PublicationRow::of(p, locale))
            .collect(),
        from: period.from.format(DAY).to_string(),
        to: period.to.format(DAY).to_string(),
        codes,
        matrix,
        exchanges: format::count(data.revenue.iter().map(|d| d.exchanges).sum()),
        value_total: yuan(data.revenue.iter().map(|d| d.value_out_fen).sum()),
        fee_total: yuan(data.revenue.iter().map(|d| d.house_fen).sum()),
        days: data
            .revenue
            .iter()
            .map(|d| DayRow {
                day: d.day.format(DAY).to_string(),
                count: format::count(d.exchanges),
                value: yuan(d.value_out_fen),
                fee: yuan(d.house_fen),
                bar: d.house_fen.max(0).saturating_mul(100) / busiest,
            })
            .collect(),
        form: form.unwrap_or_else(|| PolicyForm::of(&data.policy)),
        errors,
        policy_updated: format::datetime(data.policy_updated, locale),
    })
}

#[get("/exchange")]
async fn overview(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<PeriodQuery>,
) -> Result<OverviewPage, WebError> {
    page(
        &ctx,
        &who,
        &state,
        Period::of(&query),
        None,
        FieldErrors::default(),
    )
    .await
}

#[derive(Deserialize)]
struct RecomputeForm {}

#[post("/exchange/recompute")]
async fn recompute(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<RecomputeForm>,
) -> Result<HttpResponse, WebError> {
    Action::of(&ctx, &who, &state, RATE_KEEPERS)?
        .done(
            |conn, actor| rates::publish(conn, Trigger::OnDemand, actor),
            |_| "platform_exchange.flash.published",
            PAGE,
        )
        .await
}

#[post("/exchange/policy")]
async fn update_policy(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> Result<HttpResponse, WebError> {
    who.require(RATE_KEEPERS)?;
    let period = Period::of(&PeriodQuery::default());
    let new = match form.parse() {
        Ok(new) => new,
        Err(field) => {
            let errors = policy_error(field, ctx.locale);
            return unprocessable(&page(&ctx, &who, &state, period, Some(form), errors).await?);
        }
    };
    let actor = who.actor.clone();
    let updated = state
        .db(move |conn| Ok::<_, WebError>(policy::update(conn, &actor, &new)))
        .await?;
    match updated {
        Ok(_) => {
            set_flash(
                &ctx.session,
                FlashKind::Success,
                "platform_exchange.policy.saved",
            );
            Ok(see_other(format!("{PAGE}#policy")))
        }
        Err(e @ PolicyError::OutOfRange(out)) => {
            let message = e.message(ctx.locale).unwrap_or_default();
            let errors = FieldErrors::one(out.form_field(), message);
            unprocessable(&page(&ctx, &who, &state, period, Some(form), errors).await?)
        }
        Err(e @ PolicyError::Database(_)) => Err(flash::system(e)),
    }
}
