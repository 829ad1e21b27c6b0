//! Exchange (积分兑换): the member picks a program to give points of, one to
//! get points of and how many; a live preview prices it as they type (nothing
//! stored); "get a quote" fixes the terms for the quote's lifetime; confirming
//! executes the quote once and shows the new balances. The history lists the
//! member's exchanges, newest first.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        id::MemberId,
        money::Money,
        points::{PointCount, ProgramCode},
    },
    error::Classify,
    exchange::{
        self, ExchangeError, Executor, QuoteRequest,
        execute::{self as executions, Exchange},
        quote::{self as quotes, Quote, Terms},
    },
    i18n::Locale,
    i18n::format,
    program::{self, Program},
    wallet::{self, Wallet},
    web::{
        auth::{MemberPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        error::WebError,
        flash,
        flash::refusal,
        page::Chrome,
        state::AppState,
    },
};

use super::{super::see_other, verify_phone};

/// How many exchanges the history shows.
const HISTORY: i64 = 20;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_exchange)
        .service(preview_exchange)
        .service(request_quote)
        .service(show_quote)
        .service(confirm_quote)
        .service(show_result);
}

/// The priced terms as the member reads them, every figure formatted.
#[derive(Debug, Clone, Serialize)]
struct TermsView {
    rate: String,
    from_points: String,
    to_points: String,
    value_out: String,
    fee: String,
    fee_before_discount: String,
    spread: String,
    discount: String,
}

/// Why the exchange cannot go ahead, in the member's language; a refusal for
/// want of real-name verification links to the verification page.
#[derive(Debug, Clone, Serialize)]
struct Refusal {
    message: String,
    real_name: bool,
}

impl Refusal {
    fn of(e: &ExchangeError, locale: Locale) -> Self {
        Self {
            message: e.message(locale).unwrap_or_default(),
            real_name: matches!(e, ExchangeError::RealNameRequired { .. }),
        }
    }

    fn points(locale: Locale) -> Self {
        Self {
            message: locale.t("consumer_exchange.error.points").into_owned(),
            real_name: false,
        }
    }
}

/// Program codes to names in the page's language.
struct Names(HashMap<String, String>);

impl Names {
    fn new(programs: &[Program], locale: Locale) -> Self {
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

/// Basis points as a percentage: 300 → "3", 225 → "2.25".
fn percent(bp: i32) -> String {
    Decimal::new(bp.into(), 2).normalize().to_string()
}

fn terms_view(terms: &Terms, from: &str, to: &str, names: &Names, locale: Locale) -> TermsView {
    let (inputs, price) = (&terms.inputs, &terms.price);
    TermsView {
        rate: locale.t_with(
            "consumer_exchange.quote.rate_line",
            &[
                ("from", &names.of(from)),
                (
                    "rate",
                    &price.rate(inputs.from_points).normalize().to_string(),
                ),
                ("to", &names.of(to)),
            ],
        ),
        from_points: format::count(inputs.from_points),
        to_points: format::count(price.to_points),
        value_out: format::money(price.value_out),
        fee: format::money(price.fee),
        fee_before_discount: format::money(price.fee_before_discount),
        spread: percent(inputs.spread_bp),
        discount: percent(inputs.discount_bp),
    }
}

/// What the member asked for, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
struct ExchangeForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    points: String,
}

impl ExchangeForm {
    fn request(&self, member_id: MemberId) -> Option<QuoteRequest> {
        Some(QuoteRequest {
            member_id,
            from_program: ProgramCode::parse(&self.from).ok()?,
            to_program: ProgramCode::parse(&self.to).ok()?,
            from_points: PointCount::parse_typed(&self.points).ok()?,
            merchant_id: None,
        })
    }

    /// The exchange page with these choices filled in.
    fn href(&self) -> String {
        format!(
            "/consumer/exchange?{}",
            serde_urlencoded::to_string([
                ("from", &self.from),
                ("to", &self.to),
                ("points", &self.points)
            ])
            .unwrap_or_default()
        )
    }
}

struct ProgramOption {
    code: String,
    label: String,
    selected: bool,
}

struct HistoryRow {
    at: String,
    from: String,
    from_points: String,
    to: String,
    to_points: String,
    value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/exchange.html")]
struct ExchangePage {
    chrome: Chrome,
    sources: Vec<ProgramOption>,
    targets: Vec<ProgramOption>,
    points: String,
    preview: Option<TermsView>,
    refusal: Option<Refusal>,
    ttl_seconds: i32,
    history: Vec<HistoryRow>,
}

impl ExchangePage {
    /// Whether the refusal is for want of real-name verification.
    fn real_name(&self) -> bool {
        self.refusal.as_ref().is_some_and(|r| r.real_name)
    }
}

/// Everything the exchange page shows besides the member's choices.
struct Situation {
    programs: Vec<Program>,
    wallet: Wallet,
    history: Vec<Exchange>,
    ttl_seconds: i32,
}

async fn situation(state: &AppState, member_id: MemberId) -> Result<Situation, WebError> {
    state
        .db(move |conn| {
            Ok::<_, WebError>(Situation {
                programs: program::all(conn)?,
                wallet: wallet::of_member(conn, member_id).map_err(flash::system)?,
                history: executions::of_member(conn, member_id, HISTORY)?,
                ttl_seconds: exchange::policy::current(conn)?.quote_ttl_seconds,
            })
        })
        .await
}

fn exchange_page(
    ctx: &PageContext,
    who: &MemberPrincipal,
    situation: &Situation,
    form: &ExchangeForm,
    preview: Option<TermsView>,
    refusal: Option<Refusal>,
) -> ExchangePage {
    let locale = ctx.locale;
    let names = Names::new(&situation.programs, locale);
    let held: Vec<_> = situation
        .wallet
        .balances
        .iter()
        .filter(|b| b.available > 0 && names.0.contains_key(&b.code))
        .collect();
    let from = if form.from.is_empty() {
        held.first().map(|b| b.code.clone()).unwrap_or_default()
    } else {
        form.from.clone()
    };
    let sources = held
        .iter()
        .map(|b| ProgramOption {
            label: locale.t_with(
                "consumer_exchange.form.available",
                &[
                    ("program", &names.of(&b.code)),
                    ("points", &format::count(b.available)),
                ],
            ),
            selected: b.code == from,
            code: b.code.clone(),
        })
        .collect();
    let to = if form.to.is_empty() {
        situation
            .programs
            .iter()
            .find(|p| p.code != from)
            .map(|p| p.code.clone())
            .unwrap_or_default()
    } else {
        form.to.clone()
    };
    let targets = situation
        .programs
        .iter()
        .map(|p| ProgramOption {
            code: p.code.clone(),
            label: p.name(locale).to_owned(),
            selected: p.code == to,
        })
        .collect();
    let history = situation
        .history
        .iter()
        .map(|x| HistoryRow {
            at: format::datetime(x.created_at, locale),
            from: names.of(&x.from_program),
            from_points: format::count(x.from_points),
            to: names.of(&x.to_program),
            to_points: format::count(x.to_points),
            value: format::money(Money::from_fen(x.value_out_fen)),
        })
        .collect();
    ExchangePage {
        chrome: super::chrome(ctx, who, "/consumer/exchange"),
        sources,
        targets,
        points: form.points.clone(),
        preview,
        refusal,
        ttl_seconds: situation.ttl_seconds,
        history,
    }
}

/// Prices the request without storing anything.
async fn price(
    state: &AppState,
    form: &ExchangeForm,
    member_id: MemberId,
    locale: Locale,
) -> Result<Result<TermsView, Refusal>, WebError> {
    let Some(request) = form.request(member_id) else {
        return Ok(Err(Refusal::points(locale)));
    };
    let (preview, programs) = state
        .db(move |conn| {
            Ok::<_, WebError>((
                refusal(quotes::preview(conn, &request))?,
                program::all(conn)?,
            ))
        })
        .await?;
    let names = Names::new(&programs, locale);
    Ok(preview
        .map(|p| terms_view(&p.terms, &form.from, &form.to, &names, locale))
        .map_err(|e| Refusal::of(&e, locale)))
}

/// The page; with all three choices in the query (a link, or a browser without
/// JavaScript) it shows their price too.
#[get("/exchange")]
async fn show_exchange(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<ExchangeForm>,
) -> Result<ExchangePage, WebError> {
    let form = query.into_inner();
    let priced = if form.from.is_empty() || form.to.is_empty() || form.points.is_empty() {
        None
    } else {
        Some(price(&state, &form, who.member.id, ctx.locale).await?)
    };
    let (preview, refusal) = match priced {
        Some(Ok(view)) => (Some(view), None),
        Some(Err(refusal)) => (None, Some(refusal)),
        None => (None, None),
    };
    let situation = situation(&state, who.member.id).await?;
    Ok(exchange_page(
        &ctx, &who, &situation, &form, preview, refusal,
    ))
}

/// The live quote's answer.
#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum PreviewAnswer {
    Ok(TermsView),
    Refused(Refusal),
}

#[get("/exchange/preview")]
async fn preview_exchange(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<ExchangeForm>,
) -> Result<web::Json<PreviewAnswer>, WebError> {
    Ok(web::Json(
        match price(&state, &query, who.member.id, ctx.locale).await? {
            Ok(view) => PreviewAnswer::Ok(view),
            Err(refusal) => PreviewAnswer::Refused(refusal),
        },
    ))
}

/// Fixes the terms: a stored quote, then its confirm page.
#[post("/exchange/quote")]
async fn request_quote(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ExchangeForm>,
) -> Result<HttpResponse, WebError> {
    if let Some(refused) = verify_phone::refuse_unverified(&ctx, &who, "/consumer/exchange") {
        return refused;
    }
    let refused = match form.request(who.member.id) {
        None => Refusal::points(ctx.locale),
        Some(request) => {
            let actor = who.actor.clone();
            let quoted = state
                .db(move |conn| refusal(exchange::quote(conn, &request, &actor)))
                .await?;
            match quoted {
                Ok(quote) => {
                    return Ok(see_other(format!("/consumer/exchange/quote/{}", quote.id)));
                }
                Err(e) => Refusal::of(&e, ctx.locale),
            }
        }
    };
    let situation = situation(&state, who.member.id).await?;
    let page = exchange_page(&ctx, &who, &situation, &form, None, Some(refused));
    Ok(HttpResponse::UnprocessableEntity()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/exchange_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    quote_id: String,
    from: String,
    to: String,
    terms: TermsView,
    seconds_left: i64,
    refusal: Option<Refusal>,
    /// The exchange page with the same choices, for a new quote.
    again: String,
}

/// The member's quote and whether it was executed; None when it is not theirs.
async fn quote_of(
    state: &AppState,
    member_id: MemberId,
    id: String,
) -> Result<Option<(Quote, Option<Exchange>, Vec<Program>)>, WebError> {
    state
        .db(move |conn| {
            let Some(quote) = quotes::find(conn, &id)?.filter(|q| q.member_id == member_id) else {
                return Ok::<_, WebError>(None);
            };
            let done = executions::find_by_quote(conn, &quote.id)?;
            Ok(Some((quote, done, program::all(conn)?)))
        })
        .await
}

fn confirm_page(
    ctx: &PageContext,
    who: &MemberPrincipal,
    quote: &Quote,
    programs: &[Program],
    refusal: Option<Refusal>,
) -> Result<ConfirmPage, WebError> {
    let locale = ctx.locale;
    let names = Names::new(programs, locale);
    let terms = quote.terms().map_err(|e| WebError::Internal(e.into()))?;
    let again = ExchangeForm {
        from: quote.from_program.clone(),
        to: quote.to_program.clone(),
        points: quote.from_points.to_string(),
    };
    Ok(ConfirmPage {
        chrome: super::chrome(ctx, who, "/consumer/exchange"),
        quote_id: quote.id.clone(),
        from: names.of(&quote.from_program),
        to: names.of(&quote.to_program),
        terms: terms_view(
            &terms,
            &quote.from_program,
            &quote.to_program,
            &names,
            locale,
        ),
        seconds_left: (quote.expires_at - Utc::now()).num_seconds().max(0),
        refusal,
        again: again.href(),
    })
}

#[get("/exchange/quote/{id}")]
async fn show_quote(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let (quote, done, programs) = quote_of(&state, who.member.id, id.into_inner())
        .await?
        .ok_or(WebError::NotFound)?;
    if done.is_some() {
        return Ok(see_other(format!("/consumer/exchange/done/{}", quote.id)));
    }
    let refusal = quote
        .is_expired(Utc::now())
        .then(|| Refusal::of(&ExchangeError::QuoteExpired, ctx.locale));
    let page = confirm_page(&ctx, &who, &quote, &programs, refusal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

#[derive(Deserialize)]
struct ConfirmForm {
    quote_id: String,
}

/// Executes the quote; a second submit of the same form finds it used and
/// shows what the first did.
#[post("/exchange/confirm")]
async fn confirm_quote(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, WebError> {
    if let Some(refused) = verify_phone::refuse_unverified(&ctx, &who, "/consumer/exchange") {
        return refused;
    }
    let (member_id, actor) = (who.member.id, who.actor.clone());
    let quote_id = form.quote_id.clone();
    let executed = state
        .db(move |conn| {
            refusal(exchange::execute(
                conn,
                &quote_id,
                Executor::Member(member_id),
                &actor,
            ))
        })
        .await?;
    let e = match executed {
        Ok(done) => {
            return Ok(see_other(format!(
                "/consumer/exchange/done/{}",
                done.quote.id
            )));
        }
        Err(ExchangeError::UnknownQuote) => return Err(WebError::NotFound),
        Err(e) => e,
    };
    let (quote, done, programs) = quote_of(&state, member_id, form.quote_id)
        .await?
        .ok_or(WebError::NotFound)?;
    if done.is_some() {
        return Ok(see_other(format!("/consumer/exchange/done/{}", quote.id)));
    }
    let page = confirm_page(
        &ctx,
        &who,
        &quote,
        &programs,
        Some(Refusal::of(&e, ctx.locale)),
    )?;
    Ok(HttpResponse::UnprocessableEntity()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/exchange_result.html")]
struct ResultPage {
    chrome: Chrome,
    from: String,
    to: String,
    from_points: String,
    to_points: String,
    from_balance: String,
    to_balance: String,
    value: String,
    at: String,
}

#[get("/exchange/done/{quote_id}")]
async fn show_result(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    quote_id: web::Path<String>,
) -> Result<ResultPage, WebError> {
    let member_id = who.member.id;
    let (done, wallet, programs) = state
        .db(move |conn| {
            let done = executions::find_by_quote(conn, &quote_id)?
                .filter(|x| x.member_id == member_id)
                .ok_or(WebError::NotFound)?;
            Ok::<_, WebError>((
                done,
                wallet::of_member(conn, member_id).map_err(flash::system)?,
                program::all(conn)?,
            ))
        })
        .await?;
    let locale = ctx.locale;
    let names = Names::new(&programs, locale);
    let balance = |code: &str| {
        format::count(
            wallet
                .balances
                .iter()
                .find(|b| b.code == code)
                .map_or(0, |b| b.available),
        )
    };
    Ok(ResultPage {
        chrome: super::chrome(&ctx, &who, "/consumer/exchange"),
        from: names.of(&done.from_program),
        to: names.of(&done.to_program),
        from_points: format::count(done.from_points),
        to_points: format::count(done.to_points),
        from_balance: balance(&done.from_program),
        to_balance: balance(&done.to_program),
        value: format::money(Money::from_fen(done.value_out_fen)),
        at: format::datetime(done.created_at, locale),
    })
}
