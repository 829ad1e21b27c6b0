//! Exchange through the partner API: a partner quotes an exchange between its
//! own program and another for a member it knows, then executes the quote
//! (`crate::exchange` does the work). A quote is usable once, before it
//! expires, and only by the merchant that asked for it; that merchant can look
//! it up to learn whether it is still open, was used or expired.

use actix_web::{HttpResponse, get, http::StatusCode, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    domain::{
        id::MemberId,
        money::Money,
        points::{PointCount, ProgramCode},
    },
    exchange::{self, Executed, Executor, Quote, QuoteRequest},
    web::state::AppState,
};

use super::{
    caller::{Caller, db, once},
    idempotency::{IdempotencyKey, Reply},
    problem::{ApiError, FieldReason, Problem},
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_quote)
        .service(show_quote)
        .service(execute_quote);
}

/// `POST /exchange/quotes`: what the member would give.
#[derive(Debug, Deserialize, ToSchema)]
pub struct QuoteForm {
    /// A member this merchant knows (see POST /members).
    #[schema(required = true, nullable = false, value_type = i64)]
    member_id: Option<MemberId>,
    /// The program the member gives points of. This merchant's own program
    /// must be one of the two.
    #[schema(required = true, nullable = false, value_type = String, example = "COFFEE")]
    from_program: Option<String>,
    /// The program the member receives points of.
    #[schema(required = true, nullable = false, value_type = String, example = "CINEMA")]
    to_program: Option<String>,
    /// Points of `from_program` to give: a positive whole number as a string.
    #[schema(required = true, nullable = false, value_type = String, example = "1000")]
    from_points: Option<String>,
}

/// `POST /exchange`: the quote to execute.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExecuteForm {
    /// A quote this merchant asked for, unused and unexpired.
    #[schema(required = true, nullable = false, value_type = String, example = "q_3f9c0a7e5b1d4c2a")]
    quote_id: Option<String>,
}

/// The terms of an exchange, fixed until `expires_at`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteView {
    /// Pass to POST /exchange to carry the exchange out.
    quote_id: String,
    #[schema(value_type = i64)]
    member_id: MemberId,
    from_program: String,
    to_program: String,
    #[schema(example = "1000")]
    from_points: String,
    #[schema(example = "478")]
    to_points: String,
    /// Points of `to_program` per point of `from_program`.
    #[schema(example = "0.478")]
    rate: String,
    /// The fee the member pays, after their tier's discount (CNY).
    #[schema(example = "0.23")]
    fee_cny: String,
    breakdown: FeeBreakdownView,
    status: QuoteStatus,
    /// The exchange that used the quote, once it is `used`.
    exchange_id: Option<i64>,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

/// Whether the quote can still be executed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    Open,
    Used,
    Expired,
}

/// How the points received came about: the value given at `from_program`'s
/// sell value, less the fee, bought at `to_program`'s buy value.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeeBreakdownView {
    /// CNY value of one point given.
    #[schema(example = "0.0099")]
    sell_value: String,
    /// CNY cost of one point received.
    #[schema(example = "0.0202")]
    buy_value: String,
    /// `from_points` × `sell_value`, CNY.
    #[schema(example = "9.90")]
    value_out_cny: String,
    /// The fee rate before the member's discount: the mean of the two
    /// merchants' tier spreads, in basis points.
    #[schema(example = 225)]
    spread_bp: i32,
    #[schema(example = "0.23")]
    fee_before_discount_cny: String,
    /// The member's tier when quoted.
    #[schema(example = "basic")]
    member_tier: String,
    /// The tier's discount off the fee, in basis points: 2000 is 20% off.
    #[schema(example = 0)]
    tier_discount_bp: i32,
    #[schema(example = "0.23")]
    fee_cny: String,
}

/// An exchange carried out.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangeView {
    exchange_id: i64,
    quote_id: String,
    #[schema(value_type = i64)]
    member_id: MemberId,
    from_program: String,
    to_program: String,
    /// Points the member gave.
    #[schema(example = "1000")]
    from_points: String,
    /// Points the member received.
    #[schema(example = "478")]
    to_points: String,
    #[schema(example = "9.90")]
    value_out_cny: String,
    #[schema(example = "0.23")]
    fee_cny: String,
    executed_at: DateTime<Utc>,
}

/// Quote an exchange between two programs for a member.
///
/// The quote fixes the points received and the fee until `expires_at`, whatever
/// the rates do meanwhile; nothing is booked until POST /exchange.
#[utoipa::path(
    tag = "exchange",
    request_body = QuoteForm,
    params(("Idempotency-Key" = String, Header, description = "1–64 printable ASCII characters")),
    responses(
        (status = 201, description = "Quoted", body = QuoteView),
        (status = 400, description = "Malformed body or missing Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a member this merchant knows, or neither program is this merchant's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Idempotency-Key used for something else; too few points available; daily limit; the destination cannot issue", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields; a program unknown or closed to exchange; outside the programs' limits; real-name verification needed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[post("/exchange/quotes")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn create_quote(
    caller: Caller,
    key: IdempotencyKey,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = parse_quote(&caller, caller.json()?)?;
    once(&state, caller, key, move |conn, caller, actor| {
        caller.ensure_knows(conn, request.member_id)?;
        let quote = exchange::quote(conn, &request, actor)?;
        Reply::json(StatusCode::CREATED, &quote_view(&quote, None)?)
    })
    .await
}

/// A quote this merchant asked for, with whether it is still open.
#[utoipa::path(
    tag = "exchange",
    params(("quote_id" = String, Path, description = "The quote's id")),
    responses(
        (status = 200, body = QuoteView),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such quote for this merchant", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[get("/exchange/quotes/{quote_id}")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn show_quote(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let quote_id = path.into_inner();
    let merchant_id = caller.merchant_id;
    let (quote, used_by) = db(&state, move |conn| {
        // Another merchant's quote is as absent as one that never was.
        let quote = exchange::quote::find(conn, &quote_id)?
            .filter(|q| q.merchant_id == Some(merchant_id))
            .ok_or(ApiError::NotFound)?;
        let used_by = exchange::execute::find_by_quote(conn, &quote.id)?;
        Ok((quote, used_by.map(|e| e.id)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(quote_view(&quote, used_by)?))
}

/// Execute a quote: the member's points move at the quoted terms.
///
/// A quote executes once; executing it again, or after it expired, is 409.
#[utoipa::path(
    tag = "exchange",
    request_body = ExecuteForm,
    params(("Idempotency-Key" = String, Header, description = "1–64 printable ASCII characters")),
    responses(
        (status = 201, description = "Exchanged", body = ExchangeView),
        (status = 400, description = "Malformed body or missing Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such quote for this merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The quote expired or was used; Idempotency-Key used for something else; too few points available now; daily limit; the destination cannot issue", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields; the exchange is no longer allowed (a program closed, real-name verification needed)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[post("/exchange")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn execute_quote(
    caller: Caller,
    key: IdempotencyKey,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let form: ExecuteForm = caller.json()?;
    let quote_id = form
        .quote_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::invalid("quote_id", FieldReason::Required))?;
    once(&state, caller, key, move |conn, caller, actor| {
        let executor = Executor::Partner(caller.merchant_id);
        let executed = exchange::execute(conn, &quote_id, executor, actor)?;
        Reply::json(StatusCode::CREATED, &exchange_view(&executed))
    })
    .await
}

/// The form as the exchange service's request; every invalid field is reported.
fn parse_quote(caller: &Caller, form: QuoteForm) -> Result<QuoteRequest, ApiError> {
    let mut invalid = Vec::new();
    let mut required = |field: &'static str, present: bool| {
        if !present {
            invalid.push((field, FieldReason::Required));
        }
    };
    required("member_id", form.member_id.is_some());
    required("from_program", form.from_program.is_some());
    required("to_program", form.to_program.is_some());
    required("from_points", form.from_points.is_some());
    let member_id = form.member_id.filter(|id| id.0 > 0);
    if form.member_id.is_some() && member_id.is_none() {
        invalid.push(("member_id", FieldReason::Id));
    }
    let mut program = |field: &'static str, text: Option<String>| {
        text.as_deref()
            .map(ProgramCode::parse)
            .transpose()
            .unwrap_or_else(|_| {
                invalid.push((field, FieldReason::Program));
                None
            })
    };
    let from_program = program("from_program", form.from_program);
    let to_program = program("to_program", form.to_program);
    let from_points = match form.from_points.as_deref().map(PointCount::parse_digits) {
        Some(Err(_)) => {
            invalid.push(("from_points", FieldReason::Points));
            None
        }
        parsed => parsed.and_then(Result::ok),
    };
    let (Some(member_id), Some(from_program), Some(to_program), Some(from_points), true) = (
        member_id,
        from_program,
        to_program,
        from_points,
        invalid.is_empty(),
    ) else {
        return Err(ApiError::Invalid(invalid));
    };
    Ok(QuoteRequest {
        member_id,
        from_program,
        to_program,
        from_points,
        merchant_id: Some(caller.merchant_id),
    })
}

/// The quote as the partner sees it; `used_by` is the exchange that used it.
fn quote_view(quote: &Quote, used_by: Option<i64>) -> Result<QuoteView, ApiError> {
    let terms = quote.terms().map_err(|e| ApiError::Internal(e.into()))?;
    let status = if used_by.is_some() {
        QuoteStatus::Used
    } else if quote.is_expired(crate::clock::now()) {
        QuoteStatus::Expired
    } else {
        QuoteStatus::Open
    };
    Ok(QuoteView {
        quote_id: quote.id.clone(),
        member_id: quote.member_id,
        from_program: quote.from_program.clone(),
        to_program: quote.to_program.clone(),
        from_points: quote.from_points.to_string(),
        to_points: quote.to_points.to_string(),
        rate: quote.rate().normalize().to_string(),
        fee_cny: quote.fee().to_string(),
        breakdown: FeeBreakdownView {
            sell_value: terms.inputs.sell.to_string(),
            buy_value: terms.inputs.buy.to_string(),
            value_out_cny: terms.price.value_out.to_string(),
            spread_bp: terms.inputs.spread_bp,
            fee_before_discount_cny: terms.price.fee_before_discount.to_string(),
            member_tier: terms.member_tier,
            tier_discount_bp: terms.inputs.discount_bp,
            fee_cny: terms.price.fee.to_string(),
        },
        status,
        exchange_id: used_by,
        expires_at: quote.expires_at,
        created_at: quote.created_at,
    })
}

fn exchange_view(executed: &Executed) -> ExchangeView {
    let Executed { exchange, quote } = executed;
    ExchangeView {
        exchange_id: exchange.id,
        quote_id: exchange.quote_id.clone(),
        member_id: exchange.member_id,
        from_program: exchange.from_program.clone(),
        to_program: exchange.to_program.clone(),
        from_points: exchange.from_points.to_string(),
        to_points: exchange.to_points.to_string(),
        value_out_cny: Money::from_fen(exchange.value_out_fen).to_string(),
        fee_cny: quote.fee().to_string(),
        executed_at: exchange.created_at,
    }
}
