//! One program's rate: its history charted, why it is what it is (the model's
//! inputs step by step, or the override in force), its overrides with the form
//! to request one and cancel buttons, and its exchange rules with the member
//! daily limit the platform sets.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{DateTime, Duration, Utc};
use diesel::{PgConnection, QueryResult};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::{
    domain::{rate::Rate, shanghai},
    error::Classify,
    exchange::{
        model::{self, Flow},
        overrides::{self, Listed, NewOverride, OverrideError, OverrideStatus},
        policy::{self, ExchangePolicy},
        rates::{self, CurrentRate, ProgramRate, Publication, Source},
    },
    i18n::Locale,
    i18n::format,
    program::{self, Program, SettingsError, SettingsField},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        datetime_local,
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::{
    super::super::{
        merchant::form::{FieldErrors, unprocessable},
        see_other,
    },
    super::action::Action,
    PAGE, RATE_KEEPERS, bp, can_keep, chart, source_label, state_badge, yuan,
};

/// The chart's periods, in days; the first is the default.
const RANGES: [i64; 2] = [7, 30];
const OVERRIDES_SHOWN: i64 = 100;
/// A new override's default window.
const DEFAULT_WINDOW_HOURS: i64 = 24;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_program)
        .service(request_override)
        .service(cancel_override)
        .service(set_limit);
}

fn program_path(code: &str) -> String {
    format!("{PAGE}/programs/{code}")
}

fn rate(value: Decimal) -> Rate {
    Rate::new(value).expect("stored values are positive")
}

#[derive(Debug, Default, Deserialize)]
struct RangeQuery {
    days: Option<i64>,
}

impl RangeQuery {
    fn days(&self) -> i64 {
        self.days
            .filter(|d| RANGES.contains(d))
            .unwrap_or(RANGES[0])
    }
}

#[derive(Debug, Default, Deserialize)]
struct OverrideForm {
    sell: String,
    buy: String,
    starts_at: String,
    ends_at: String,
    reason: String,
}

impl OverrideForm {
    /// Parses what can be parsed, or says what cannot in the reader's
    /// language, with its field; the domain checks the rest.
    fn parse(&self, code: &str, locale: Locale) -> Result<NewOverride, FieldErrors> {
        let value = |text: &str| {
            Rate::parse(text.trim()).map_err(|_| {
                FieldErrors::one(
                    "values",
                    locale
                        .t("platform_exchange.override.error.value")
                        .into_owned(),
                )
            })
        };
        let time = |text: &str| {
            datetime_local::parse(text).ok_or_else(|| {
                let message = OverrideError::InvalidWindow.message(locale);
                FieldErrors::one("window", message.unwrap_or_default())
            })
        };
        Ok(NewOverride {
            program_code: code.to_owned(),
            sell: value(&self.sell)?,
            buy: value(&self.buy)?,
            starts_at: time(&self.starts_at)?,
            ends_at: time(&self.ends_at)?,
            reason: self.reason.clone(),
        })
    }
}

/// The form field an override refusal is about.
fn override_field(e: &OverrideError) -> &'static str {
    match e {
        OverrideError::InvalidWindow => "window",
        OverrideError::InvalidReason => "reason",
        OverrideError::UnknownProgram
        | OverrideError::BuyBelowSell
        | OverrideError::CrossesSettlement { .. }
        | OverrideError::OutsideBand { .. }
        | OverrideError::NotFound
        | OverrideError::NotCancellable
        | OverrideError::Approval(_)
        | OverrideError::Database(_) => "values",
    }
}

#[derive(Debug, Default, Deserialize)]
struct LimitForm {
    limit: String,
}

/// The model's working for the rate the latest publication gave the program.
struct Explanation {
    /// `#12 · 2026-11-22 16:05 · 按需`, or empty before any publication.
    publication: String,
    settlement: String,
    window: String,
    inflow: String,
    outflow: String,
    net: String,
    gross: String,
    floor: String,
    denominator: String,
    band: String,
    sensitivity: String,
    shift: String,
    mid: String,
    margin: String,
    sell: String,
    buy: String,
    band_low: String,
    band_high: String,
}

impl Explanation {
    fn of(
        rate: &CurrentRate,
        published: Option<(&ProgramRate, &Publication)>,
        current: &ExchangePolicy,
        locale: Locale,
    ) -> Self {
        let (flow, policy, publication, window) = match published {
            Some((row, publication)) => {
                let policy = serde_json::from_value::<ExchangePolicy>(publication.policy.clone())
                    .unwrap_or(*current);
                (
                    row.flow(),
                    policy,
                    locale.t_with(
                        "platform_exchange.explain.publication",
                        &[
                            ("id", &publication.id.to_string()),
                            ("at", &format::datetime(publication.published_at, locale)),
                            (
                                "trigger",
                                &locale.t(&format!(
                                    "platform_exchange.trigger.{}",
                                    publication.trigger
                                )),
                            ),
                        ],
                    ),
                    format!(
                        "{} – {}",
                        format::datetime(publication.window_start, locale),
                        format::datetime(publication.published_at, locale)
                    ),
                )
            }
            None => (Flow::default(), *current, String::new(), String::new()),
        };
        let (low, high) = model::band(rate.settlement, policy.band_bp);
        Self {
            publication,
            settlement: rate.settlement.to_string(),
            window: locale.t_with(
                "platform_exchange.explain.window_hours",
                &[
                    ("hours", &policy.flow_window_hours.to_string()),
                    ("window", &window),
                ],
            ),
            inflow: yuan(flow.inflow_fen),
            outflow: yuan(flow.outflow_fen),
            net: yuan(flow.net_fen()),
            gross: yuan(flow.gross_fen()),
            floor: yuan(policy.flow_floor_fen),
            denominator: yuan(flow.gross_fen().max(policy.flow_floor_fen)),
            band: bp(policy.band_bp),
            sensitivity: bp(policy.flow_sensitivity_bp),
            shift: bp(rate.model.shift_bp),
            mid: rate.model.mid.to_string(),
            margin: bp(policy.value_margin_bp),
            sell: rate.model.sell.to_string(),
            buy: rate.model.buy.to_string(),
            band_low: low.to_string(),
            band_high: high.to_string(),
        }
    }
}

/// The override in force, and how far it is from the model.
struct InForce {
    id: i64,
    by: String,
    reason: String,
    window: String,
    distance: String,
    model_sell: String,
    model_buy: String,
}

struct OverrideRow {
    id: i64,
    sell: String,
    buy: String,
    window: String,
    reason: String,
    distance: String,
    state_css: &'static str,
    state_label: String,
    requested: String,
    cancelled_by: String,
    approval_id: Option<i64>,
    cancellable: bool,
}

impl OverrideRow {
    fn of(listed: &Listed, now: DateTime<Utc>, locale: Locale) -> Self {
        let o = &listed.pinned;
        let state = listed.state(now);
        let (state_css, state_label) = state_badge(state, locale);
        Self {
            id: o.id,
            sell: rate(o.sell_value).to_string(),
            buy: rate(o.buy_value).to_string(),
            window: window(o.starts_at, o.ends_at, locale),
            reason: o.reason.clone(),
            distance: bp(o.distance_bp),
            state_css,
            state_label,
            requested: format!(
                "{} · {}",
                o.requested_by,
                format::datetime(o.created_at, locale)
            ),
            cancelled_by: o.cancelled_by.clone().unwrap_or_default(),
            approval_id: o.approval_id,
            cancellable: matches!(state, "active" | "scheduled" | "pending"),
        }
    }
}

fn window(from: DateTime<Utc>, until: DateTime<Utc>, locale: Locale) -> String {
    format!(
        "{} – {}",
        format::datetime(from, locale),
        format::datetime(until, locale)
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/exchange/program.html")]
struct ProgramPage {
    chrome: Chrome,
    can_edit: bool,
    code: String,
    name: String,
    settlement: String,
    sell: String,
    buy: String,
    band: String,
    source: String,
    exchange_in: bool,
    exchange_out: bool,
    min_points: String,
    max_points: String,
    daily_limit: String,
    review_distance: String,
    days: i64,
    ranges: [i64; 2],
    chart: Option<chart::RateChart>,
    width: f64,
    height: f64,
    explanation: Explanation,
    in_force: Option<InForce>,
    overrides: Vec<OverrideRow>,
    form: OverrideForm,
    limit_form: LimitForm,
    errors: FieldErrors,
}

struct ProgramData {
    program: Program,
    rate: CurrentRate,
    publication: Option<Publication>,
    policy: ExchangePolicy,
    history: Vec<(DateTime<Utc>, ProgramRate)>,
    bands: HashMap<i64, i32>,
    overrides: Vec<Listed>,
}

impl ProgramData {
    /// None when there is no such program.
    fn load(
        conn: &mut PgConnection,
        code: &str,
        since: DateTime<Utc>,
    ) -> QueryResult<Option<Self>> {
        let Some(program) = program::by_code(conn, code)? else {
            return Ok(None);
        };
        let rate = rates::current(conn, &program)?;
        let publication = match &rate.published {
            Some(row) => rates::publication(conn, row.publication_id)?,
            None => None,
        };
        let history = rates::history(conn, &program.code, since)?;
        // Every publication since `since` is among the newest this many.
        let bands =
            rates::recent_publications(conn, i64::try_from(history.len()).unwrap_or(0) + 1)?
                .into_iter()
                .filter_map(|p| {
                    let policy = serde_json::from_value::<ExchangePolicy>(p.policy).ok()?;
                    Some((p.id, policy.band_bp))
                })
                .collect();
        Ok(Some(Self {
            overrides: overrides::list(conn, Some(&program.code), OVERRIDES_SHOWN)?,
            policy: policy::current(conn)?,
            program,
            rate,
            publication,
            history,
            bands,
        }))
    }
}

struct Forms {
    days: i64,
    form: Option<OverrideForm>,
    limit_form: Option<LimitForm>,
    errors: FieldErrors,
}

impl Forms {
    fn blank(days: i64) -> Self {
        Self {
            days,
            form: None,
            limit_form: None,
            errors: FieldErrors::default(),
        }
    }
}

/// Shanghai midnights after `since` up to `now`, every day for a week, every
/// fifth day for longer, labelled `11-22`.
fn day_marks(since: DateTime<Utc>, now: DateTime<Utc>, days: i64) -> Vec<(DateTime<Utc>, String)> {
    let step = if days > RANGES[0] { 5 } else { 1 };
    let mut marks = Vec::new();
    let mut day = shanghai::midnight(shanghai::date_of(since) + Duration::days(1));
    while day <= now {
        marks.push((
            day,
            day.with_timezone(&shanghai::offset())
                .format("%m-%d")
                .to_string(),
        ));
        day += Duration::days(step);
    }
    marks
}

/// The override behind the rate in force, if one is.
fn in_force(rate: &CurrentRate, overrides: &[Listed], locale: Locale) -> Option<InForce> {
    match rate.source {
        Source::Override { override_id, .. } => overrides
            .iter()
            .find(|l| l.pinned.id == override_id)
            .map(|l| InForce {
                id: override_id,
                by: l.pinned.requested_by.clone(),
                reason: l.pinned.reason.clone(),
                window: window(l.pinned.starts_at, l.pinned.ends_at, locale),
                distance: bp(model::distance_bp(
                    rate.sell,
                    rate.buy,
                    rate.model.sell,
                    rate.model.buy,
                )),
                model_sell: rate.model.sell.to_string(),
                model_buy: rate.model.buy.to_string(),
            }),
        _ => None,
    }
}

async fn page(
    ctx: &PageContext,
    who: &OperatorPrincipal,
    state: &AppState,
    code: String,
    forms: Forms,
) -> Result<ProgramPage, WebError> {
    let now = Utc::now();
    let since = now - Duration::days(forms.days);
    let data = state
        .db(move |conn| ProgramData::load(conn, &code, since))
        .await?
        .ok_or(WebError::NotFound)?;
    let locale = ctx.locale;
    let ProgramData {
        program,
        rate,
        publication,
        policy,
        history,
        bands,
        overrides,
    } = data;
    let windows: Vec<(DateTime<Utc>, DateTime<Utc>)> = overrides
        .iter()
        .filter(|l| l.pinned.status == OverrideStatus::Active)
        .map(|l| (l.pinned.starts_at, l.pinned.ends_at))
        .collect();
    let ticks = day_marks(since, now, forms.days);
    let chart = chart::RateChart::draw(&chart::History {
        rows: &history,
        band_bp: &bands,
        default_band_bp: policy.band_bp,
        windows: &windows,
        since,
        now,
        ticks: &ticks,
    });
    let in_force = in_force(&rate, &overrides, locale);
    let published = rate.published.as_ref().zip(publication.as_ref());
    let form = forms.form.unwrap_or_else(|| OverrideForm {
        sell: rate.model.sell.to_string(),
        buy: rate.model.buy.to_string(),
        starts_at: datetime_local::value(now),
        ends_at: datetime_local::value(now + Duration::hours(DEFAULT_WINDOW_HOURS)),
        reason: String::new(),
    });
    Ok(ProgramPage {
        chrome: super::super::chrome(ctx, who, PAGE),
        can_edit: can_keep(who),
        name: program.name(locale).to_owned(),
        settlement: rate.settlement.to_string(),
        sell: rate.sell.to_string(),
        buy: rate.buy.to_string(),
        band: format!("{} – {}", rate.band.0, rate.band.1),
        source: source_label(&rate, locale),
        exchange_in: program.exchange_in,
        exchange_out: program.exchange_out,
        min_points: format::count(program.min_exchange_points),
        max_points: format::count(program.max_exchange_points),
        daily_limit: format::count(program.member_daily_exchange_limit),
        review_distance: bp(policy.override_review_bp),
        days: forms.days,
        ranges: RANGES,
        chart,
        width: chart::WIDTH,
        height: chart::HEIGHT,
        explanation: Explanation::of(&rate, published, &policy, locale),
        in_force,
        overrides: overrides
            .iter()
            .map(|l| OverrideRow::of(l, now, locale))
            .collect(),
        form,
        limit_form: forms.limit_form.unwrap_or_else(|| LimitForm {
            limit: program.member_daily_exchange_limit.to_string(),
        }),
        errors: forms.errors,
        code: program.code,
    })
}

#[get("/exchange/programs/{code}")]
async fn show_program(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: web::Query<RangeQuery>,
) -> Result<ProgramPage, WebError> {
    page(
        &ctx,
        &who,
        &state,
        code.into_inner(),
        Forms::blank(query.days()),
    )
    .await
}

#[post("/exchange/programs/{code}/overrides")]
async fn request_override(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    code: web::Path<String>,
    CsrfForm(form): CsrfForm<OverrideForm>,
) -> Result<HttpResponse, WebError> {
    who.require(RATE_KEEPERS)?;
    let code = code.into_inner();
    let new = match form.parse(&code, ctx.locale) {
        Ok(new) => new,
        Err(errors) => return refused(&ctx, &who, &state, code, form, errors).await,
    };
    let (actor, policy, registry) = (
        who.actor.clone(),
        state.approval_policy,
        state.approvals.clone(),
    );
    let requested = state
        .db(move |conn| {
            Ok::<_, WebError>(overrides::request(conn, &actor, &new, policy, &registry))
        })
        .await?;
    match requested {
        Ok(r) => {
            let key = if r.approval.is_some() {
                "platform_exchange.override.flash.pending"
            } else {
                "platform_exchange.override.flash.active"
            };
            set_flash(&ctx.session, FlashKind::Success, key);
            Ok(see_other(program_path(&code)))
        }
        Err(OverrideError::UnknownProgram) => Err(WebError::NotFound),
        Err(e) => match e.message(ctx.locale) {
            Some(message) => {
                let errors = FieldErrors::one(override_field(&e), message);
                refused(&ctx, &who, &state, code, form, errors).await
            }
            None => Err(flash::system(e)),
        },
    }
}

/// The page again with the override form as sent and what was wrong.
async fn refused(
    ctx: &PageContext,
    who: &OperatorPrincipal,
    state: &AppState,
    code: String,
    form: OverrideForm,
    errors: FieldErrors,
) -> Result<HttpResponse, WebError> {
    let forms = Forms {
        form: Some(form),
        errors,
        ..Forms::blank(RANGES[0])
    };
    unprocessable(&page(ctx, who, state, code, forms).await?)
}

#[derive(Deserialize)]
struct CancelForm {}

#[post("/exchange/programs/{code}/overrides/{id}/cancel")]
async fn cancel_override(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    CsrfForm(_): CsrfForm<CancelForm>,
) -> Result<HttpResponse, WebError> {
    let (code, id) = path.into_inner();
    Action::of(&ctx, &who, &state, RATE_KEEPERS)?
        .addressed()
        .done(
            move |conn, actor| overrides::cancel(conn, actor, id),
            |_| "platform_exchange.override.flash.cancelled",
            program_path(&code),
        )
        .await
}

#[post("/exchange/programs/{code}/limit")]
async fn set_limit(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    code: web::Path<String>,
    CsrfForm(form): CsrfForm<LimitForm>,
) -> Result<HttpResponse, WebError> {
    who.require(RATE_KEEPERS)?;
    let code = code.into_inner();
    let set = match form.limit.trim().parse::<i64>() {
        Ok(limit) => {
            let (actor, code) = (who.actor.clone(), code.clone());
            state
                .db(move |conn| {
                    flash::found(program::set_member_daily_exchange_limit(
                        conn, &actor, &code, limit,
                    ))
                })
                .await?
        }
        Err(_) => Err(SettingsError::Invalid(vec![
            SettingsField::DailyExchangeLimit,
        ])),
    };
    match set {
        Ok(_) => {
            set_flash(
                &ctx.session,
                FlashKind::Success,
                "platform_exchange.limit.saved",
            );
            Ok(see_other(program_path(&code)))
        }
        Err(e) => {
            let forms = Forms {
                limit_form: Some(form),
                errors: FieldErrors::one("limit", e.message(ctx.locale).unwrap_or_default()),
                ..Forms::blank(RANGES[0])
            };
            unprocessable(&page(&ctx, &who, &state, code, forms).await?)
        }
    }
}
