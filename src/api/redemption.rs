//! Combined redemption through the partner API: a partner orders one of its own
//! rewards for a member it knows, paid with points of one or more programs and
//! cash collected at its counter (`crate::redemption` does the work). The points
//! are held and the member gets a voucher; the partner then serves it (核销),
//! which posts the holds, or cancels it, which releases them.
//!
//! Members who have not proven their mobile number by SMS code may redeem
//! here, though the member app refuses them (see
//! `portals::consumer::verify_phone`). The risk the app guards against is
//! remote: an account opened with a stranger's number, spent by whoever chose
//! its password, from anywhere. At a counter the person is in front of the
//! partner's staff, who identify them by the partner's own means before
//! ordering, and the voucher is served there and then. And most members a
//! partner enrolled through this API never open the app, so they are
//! unverified by definition: gating here would stop the alliance's everyday
//! redemption for the people it serves most.

use actix_web::{HttpResponse, get, http::StatusCode, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    domain::{
        actor::Actor,
        id::{MemberId, RewardId, StoreId},
        money::Money,
        points::{PointCount, ProgramCode},
    },
    redemption::{self, RedeemError, RedeemRequest, Redemption, RedemptionStatus},
    web::state::AppState,
};

use super::{
    caller::{Caller, db, once},
    idempotency::{IdempotencyKey, Reply},
    problem::{ApiError, FieldReason, Problem},
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_redemption)
        .service(show_redemption)
        .service(fulfil_redemption)
        .service(cancel_redemption);
}

/// `POST /redemptions`: the reward and how the member pays for it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RedeemForm {
    /// A member this merchant knows (see POST /members).
    #[schema(required = true, nullable = false, value_type = i64)]
    member_id: Option<MemberId>,
    /// One of this merchant's rewards, on offer now.
    #[schema(required = true, nullable = false, value_type = i64)]
    reward_id: Option<RewardId>,
    /// The points paid, each program at most once; the reward decides which
    /// programs it accepts. Empty when cash pays it all.
    #[schema(required = true, nullable = false, value_type = Vec<PayForm>)]
    pay: Option<Vec<PayForm>>,
    /// Cash the member pays at the counter, CNY; none when absent.
    #[schema(value_type = Option<String>, example = "0.80")]
    cash_cny: Option<String>,
}

/// One program's points in a payment.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PayForm {
    #[schema(required = true, nullable = false, value_type = String, example = "CINEMA")]
    program: Option<String>,
    /// A positive whole number as a string.
    #[schema(required = true, nullable = false, value_type = String, example = "500")]
    points: Option<String>,
}

/// `POST /redemptions/{redemption_id}/fulfil`: where it was served.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FulfilForm {
    /// One of the merchant's stores.
    #[schema(value_type = Option<i64>)]
    store_id: Option<StoreId>,
}

/// A redemption and its voucher.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionView {
    redemption_id: i64,
    #[schema(value_type = i64)]
    member_id: MemberId,
    #[schema(value_type = i64)]
    reward_id: RewardId,
    /// The 12 digits the member shows at the counter.
    #[schema(example = "004271935806")]
    voucher_code: String,
    /// `held` until served (`fulfilled`), `cancelled` or `expired`.
    #[schema(value_type = String, example = "held")]
    status: RedemptionStatus,
    /// The reward's value, CNY.
    #[schema(example = "30.00")]
    value_cny: String,
    /// Cash to collect at the counter, CNY.
    #[schema(example = "0.80")]
    cash_cny: String,
    /// Each program's points and what they pay of the value.
    pay: Vec<PaidView>,
    /// Where it was served.
    #[schema(value_type = Option<i64>)]
    store_id: Option<StoreId>,
    /// The voucher cannot be served from this moment.
    expires_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

/// One program's points, as paid.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaidView {
    #[schema(example = "CINEMA")]
    program: String,
    #[schema(example = "500")]
    points: String,
    /// What these points pay of the reward's value, CNY.
    #[schema(example = "10.00")]
    value_cny: String,
}

/// Order a reward for a member: the points are held and a voucher issued.
///
/// The points and cash must pay the reward's value exactly enough. The
/// Idempotency-Key also identifies the order: a retry is the same order.
#[utoipa::path(
    tag = "redemptions",
    request_body = RedeemForm,
    params(("Idempotency-Key" = String, Header, description = "1–64 printable ASCII characters")),
    responses(
        (status = 201, description = "Held; the voucher can be served", body = RedemptionView),
        (status = 400, description = "Malformed body or missing Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a member this merchant knows", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such reward of this merchant's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Idempotency-Key used for something else; not on offer now; out of stock; a cap reached; too few points available; the merchant is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields; a program or cash the reward does not accept; the payment short or more than needed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[post("/redemptions")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn create_redemption(
    caller: Caller,
    key: IdempotencyKey,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = parse_redeem(caller.json()?, key.scoped(caller.merchant_id))?;
    once(&state, caller, key, move |conn, caller, actor| {
        caller.ensure_knows(conn, request.member_id)?;
        // Another merchant's reward is as absent as one that never was.
        if redemption::reward_merchant(conn, request.reward_id)? != Some(caller.merchant_id) {
            return Err(ApiError::NotFound);
        }
        let held = redemption::redeem(conn, &request, actor).map_err(refused)?;
        Reply::json(StatusCode::CREATED, &redemption_view(&held))
    })
    .await
}

/// One of this merchant's redemptions, with its status.
#[utoipa::path(
    tag = "redemptions",
    params(("redemption_id" = i64, Path, description = "The redemption's id")),
    responses(
        (status = 200, body = RedemptionView),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such redemption at this merchant", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[get("/redemptions/{redemption_id}")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn show_redemption(
    caller: Caller,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (id, merchant_id) = (path.into_inner(), caller.merchant_id);
    let found = db(&state, move |conn| {
        redemption::of_merchant(conn, merchant_id, id)?.ok_or(ApiError::NotFound)
    })
    .await?;
    Ok(HttpResponse::Ok().json(redemption_view(&found)))
}

/// The merchant served the reward (核销): the held points are posted.
///
/// A redemption is served once; serving it again, or after its voucher
/// expired or was cancelled, is 409.
#[utoipa::path(
    tag = "redemptions",
    params(
        ("redemption_id" = i64, Path, description = "The redemption's id"),
        ("Idempotency-Key" = String, Header, description = "1–64 printable ASCII characters"),
    ),
    request_body = FulfilForm,
    responses(
        (status = 200, description = "Served", body = RedemptionView),
        (status = 400, description = "Malformed body or missing Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such redemption at this merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already served, cancelled or expired; Idempotency-Key used for something else", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields; the store is not this merchant's", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[post("/redemptions/{redemption_id}/fulfil")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn fulfil_redemption(
    caller: Caller,
    key: IdempotencyKey,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    // An empty body names no store, like `{}`.
    let form: FulfilForm = if caller.body_is_empty() {
        FulfilForm::default()
    } else {
        caller.json()?
    };
    if form.store_id.is_some_and(|store| store.0 <= 0) {
        return Err(ApiError::invalid("store_id", FieldReason::Id));
    }
    resolve(caller, key, state, move |conn, caller, actor| {
        redemption::fulfil_by_id(conn, caller.merchant_id, id, form.store_id, actor)
    })
    .await
}

/// The merchant calls the redemption off: the held points are released and
/// the reward goes back in stock.
#[utoipa::path(
    tag = "redemptions",
    params(
        ("redemption_id" = i64, Path, description = "The redemption's id"),
        ("Idempotency-Key" = String, Header, description = "1–64 printable ASCII characters"),
    ),
    responses(
        (status = 200, description = "Cancelled", body = RedemptionView),
        (status = 400, description = "Missing Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such redemption at this merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already served, cancelled or expired; Idempotency-Key used for something else", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[post("/redemptions/{redemption_id}/cancel")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn cancel_redemption(
    caller: Caller,
    key: IdempotencyKey,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    resolve(caller, key, state, move |conn, caller, actor| {
        redemption::cancel_by_merchant(conn, caller.merchant_id, id, actor)
    })
    .await
}

/// Serves or cancels once under the key; the redemption as it is after.
async fn resolve(
    caller: Caller,
    key: IdempotencyKey,
    state: web::Data<AppState>,
    work: impl FnOnce(&mut diesel::PgConnection, &Caller, &Actor) -> Result<Redemption, RedeemError>
    + Send
    + 'static,
) -> Result<HttpResponse, ApiError> {
    once(&state, caller, key, move |conn, caller, actor| {
        let resolved = work(conn, caller, actor).map_err(refused)?;
        Reply::json(StatusCode::OK, &redemption_view(&resolved))
    })
    .await
}

/// The form as the redemption service's order; every invalid field is reported.
fn parse_redeem(form: RedeemForm, request_key: String) -> Result<RedeemRequest, ApiError> {
    let mut invalid = Vec::new();
    let mut required = |field: &'static str, present: bool| {
        if !present {
            invalid.push((field, FieldReason::Required));
        }
    };
    required("member_id", form.member_id.is_some());
    required("reward_id", form.reward_id.is_some());
    required("pay", form.pay.is_some());
    let mut id = |field: &'static str, value: Option<i64>| {
        let valid = value.filter(|id| *id > 0);
        if value.is_some() && valid.is_none() {
            invalid.push((field, FieldReason::Id));
        }
        valid
    };
    let member_id = id("member_id", form.member_id.map(|m| m.0)).map(MemberId);
    let reward_id = id("reward_id", form.reward_id.map(|r| r.0)).map(RewardId);
    let mut pay = Vec::new();
    for leg in form.pay.unwrap_or_default() {
        let program = leg.program.as_deref().map(ProgramCode::parse);
        let points = leg.points.as_deref().map(PointCount::parse_digits);
        match (program, points) {
            (Some(Ok(program)), Some(Ok(points))) => pay.push((program, points)),
            (program, points) => {
                if !matches!(program, Some(Ok(_))) {
                    invalid.push(("pay", FieldReason::Program));
                }
                if !matches!(points, Some(Ok(_))) {
                    invalid.push(("pay", FieldReason::Points));
                }
            }
        }
    }
    let cash = match form.cash_cny.as_deref().map(Money::parse) {
        None => Some(Money::from_fen(0)),
        Some(Ok(cash)) if cash.fen() >= 0 => Some(cash),
        Some(_) => {
            invalid.push(("cash_cny", FieldReason::Amount));
            None
        }
    };
    invalid.dedup();
    let (Some(member_id), Some(reward_id), Some(cash), true) =
        (member_id, reward_id, cash, invalid.is_empty())
    else {
        return Err(ApiError::Invalid(invalid));
    };
    Ok(RedeemRequest {
        member_id,
        reward_id,
        pay,
        cash,
        request_key,
    })
}

fn redemption_view(redemption: &Redemption) -> RedemptionView {
    RedemptionView {
        redemption_id: redemption.id,
        member_id: redemption.member_id,
        reward_id: redemption.reward_id,
        voucher_code: redemption.voucher_code.clone(),
        status: redemption.status,
        value_cny: Money::from_fen(redemption.value_fen).to_string(),
        cash_cny: Money::from_fen(redemption.cash_fen).to_string(),
        pay: redemption
            .legs()
            .into_iter()
            .map(|leg| PaidView {
                program: leg.program,
                points: leg.points.to_string(),
                value_cny: Money::from_fen(leg.value_fen).to_string(),
            })
            .collect(),
        store_id: redemption.store_id,
        expires_at: redemption.expires_at,
        resolved_at: redemption.resolved_at,
        created_at: redemption.created_at,
    }
}

/// A reward or voucher the service does not find is as absent as the GET and
/// another merchant's reward say: the API's plain 404, not the service's
/// refusal.
fn refused(error: RedeemError) -> ApiError {
    match error {
        RedeemError::UnknownReward | RedeemError::UnknownVoucher => ApiError::NotFound,
        other => other.into(),
    }
}
