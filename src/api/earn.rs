//! Earning through the partner API: a till reports a purchase and the member
//! earns points (`crate::earn` does the work); an order can be looked up by the
//! merchant's order id and refunded in full or in part.

use actix_web::{HttpResponse, get, http::StatusCode, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    domain::{
        id::{MemberId, StoreId},
        money::Money,
        points::ProgramCode,
    },
    earn::{self, EarnOrder, EarnRequest, OrderId, Source, rule::Breakdown},
    i18n::Locale,
    web::state::AppState,
};

use super::{
    caller::{Caller, db, once},
    idempotency::{IdempotencyKey, Reply},
    problem::{ApiError, FieldReason, Problem},
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_earn)
        .service(show_earn)
        .service(refund_earn);
}

/// `POST /earn`: a purchase to earn points for.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EarnForm {
    /// A member this merchant knows (see POST /members).
    #[schema(required = true, nullable = false, value_type = i64)]
    member_id: Option<MemberId>,
    /// The merchant's order id: 1–64 visible ASCII characters, unique per
    /// merchant. Reporting the same order again returns the first result.
    #[schema(required = true, nullable = false, value_type = String, example = "POS-20261122-0001")]
    order_id: Option<String>,
    /// What the member paid, CNY.
    #[schema(required = true, nullable = false, value_type = String, example = "128.00")]
    amount_cny: Option<String>,
    /// When the purchase happened (RFC 3339); now when absent. At most 30 days ago.
    occurred_at: Option<String>,
    /// One of the merchant's stores.
    #[schema(value_type = Option<i64>)]
    store_id: Option<StoreId>,
    /// `ALP` to issue the alliance's hub points instead of the merchant's own.
    program: Option<String>,
    /// The till or device, for risk checks.
    device_id: Option<String>,
}

/// `POST /earn/{order_id}/refund`: how much of the purchase was refunded.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RefundForm {
    /// CNY; everything not yet refunded when absent.
    #[schema(value_type = Option<String>, example = "28.00")]
    amount_cny: Option<String>,
}

/// A purchase that earned points.
#[derive(Debug, Serialize, ToSchema)]
pub struct EarnView {
    order_id: String,
    #[schema(value_type = i64)]
    member_id: MemberId,
    /// The program the points were issued in.
    program: String,
    #[schema(value_type = Option<i64>)]
    store_id: Option<StoreId>,
    #[schema(example = "128.00")]
    amount_cny: String,
    /// Points issued.
    #[schema(example = "140")]
    points: String,
    breakdown: BreakdownView,
    occurred_at: DateTime<Utc>,
    #[schema(example = "0.00")]
    refunded_cny: String,
    /// Points refunds took back.
    points_reversed: String,
    /// Points refunds should have taken back that the member had already spent.
    points_unrecovered: String,
    /// The member's new tier, when this purchase lifted them into one.
    upgraded_to: Option<String>,
    created_at: DateTime<Utc>,
}

/// How the points came about.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownView {
    /// Points per CNY.
    #[schema(example = "1")]
    earn_rate: String,
    base_points: String,
    tier: TierBonusView,
    campaigns: Vec<CampaignBonusView>,
    total_points: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierBonusView {
    /// The member's tier when they earned.
    code: String,
    /// Basis points on top of the base: 1000 is +10%.
    bonus_bp: i32,
    points: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignBonusView {
    campaign_id: i64,
    name: String,
    #[schema(example = "2.00")]
    multiplier: String,
    points: String,
}

/// A refund and the order after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    #[schema(example = "28.00")]
    amount_cny: String,
    points_reversed: String,
    points_unrecovered: String,
    order: EarnView,
}

/// Report a purchase; the member earns points for it.
///
/// 201 when booked now; 200 when the order was booked before (the same
/// purchase again); 409 when the order id was used for a different purchase.
#[utoipa::path(
    tag = "earn",
    request_body = EarnForm,
    params(("Idempotency-Key" = String, Header, description = "1–64 printable ASCII characters")),
    responses(
        (status = 201, description = "Points issued", body = EarnView),
        (status = 200, description = "The order was booked before", body = EarnView),
        (status = 400, description = "Malformed body or missing Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a member this merchant knows", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Order id or Idempotency-Key used for something else; issuing blocked; daily limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[post("/earn")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn create_earn(
    caller: Caller,
    key: IdempotencyKey,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = parse_earn(&caller, caller.json()?)?;
    once(&state, caller, key, move |conn, caller, actor| {
        caller.ensure_knows(conn, request.member_id)?;
        let earned = earn::earn(conn, &request, actor)?;
        let status = if earned.replayed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        let view = earn_view(
            &earned.order,
            &earned.breakdown,
            earned.upgraded_to,
            caller.locale,
        );
        Reply::json(status, &view)
    })
    .await
}

/// An order the merchant reported, with its refunds so far.
#[utoipa::path(
    tag = "earn",
    params(("order_id" = String, Path, description = "The merchant's order id")),
    responses(
        (status = 200, body = EarnView),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order at this merchant", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[get("/earn/{order_id}")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn show_earn(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let order_id = OrderId::parse(&path.into_inner()).map_err(|_| ApiError::NotFound)?;
    let merchant_id = caller.merchant_id;
    let order = db(&state, move |conn| {
        earn::find_order(conn, merchant_id, &order_id)?.ok_or(ApiError::NotFound)
    })
    .await?;
    let breakdown = stored_breakdown(&order)?;
    Ok(HttpResponse::Ok().json(earn_view(&order, &breakdown, None, caller.locale)))
}

/// Refund all or part of a purchase; the points it earned are taken back in
/// proportion (those the member already spent are reported as unrecovered).
#[utoipa::path(
    tag = "earn",
    params(
        ("order_id" = String, Path, description = "The merchant's order id"),
        ("Idempotency-Key" = String, Header, description = "1–64 printable ASCII characters"),
    ),
    request_body = RefundForm,
    responses(
        (status = 200, description = "Refunded", body = RefundView),
        (status = 400, description = "Malformed body or missing Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order at this merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "More than is left to refund, or Idempotency-Key used for something else", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[post("/earn/{order_id}/refund")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn refund_earn(
    caller: Caller,
    key: IdempotencyKey,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let order_id = OrderId::parse(&path.into_inner()).map_err(|_| ApiError::NotFound)?;
    // An empty body asks for a full refund, like `{}`.
    let form: RefundForm = if caller.body_is_empty() {
        RefundForm::default()
    } else {
        caller.json()?
    };
    let amount = form.amount_cny.as_deref().map(positive_money).transpose()?;
    once(&state, caller, key, move |conn, caller, actor| {
        let refunded = earn::refund(conn, caller.merchant_id, &order_id, amount, None, actor)?;
        let breakdown = stored_breakdown(&refunded.order)?;
        Reply::json(
            StatusCode::OK,
            &RefundView {
                amount_cny: refunded.amount.to_string(),
                points_reversed: refunded.points_reversed.to_string(),
                points_unrecovered: refunded.points_unrecovered.to_string(),
                order: earn_view(&refunded.order, &breakdown, None, caller.locale),
            },
        )
    })
    .await
}

/// The form as the earn service's request; every invalid field is reported.
fn parse_earn(caller: &Caller, form: EarnForm) -> Result<EarnRequest, ApiError> {
    let mut invalid = Vec::new();
    let mut required = |field: &'static str, present: bool| {
        if !present {
            invalid.push((field, FieldReason::Required));
        }
    };
    required("member_id", form.member_id.is_some());
    required("order_id", form.order_id.is_some());
    required("amount_cny", form.amount_cny.is_some());
    let member_id = form.member_id.filter(|id| id.0 > 0);
    if form.member_id.is_some() && member_id.is_none() {
        invalid.push(("member_id", FieldReason::Id));
    }
    let order_id = form
        .order_id
        .as_deref()
        .map(OrderId::parse)
        .transpose()
        .unwrap_or_else(|_| {
            invalid.push(("order_id", FieldReason::OrderId));
            None
        });
    let amount = form
        .amount_cny
        .as_deref()
        .map(positive_money)
        .transpose()
        .unwrap_or_else(|_| {
            invalid.push(("amount_cny", FieldReason::Amount));
            None
        });
    let occurred_at = form
        .occurred_at
        .as_deref()
        .map(|t| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)))
        .transpose()
        .unwrap_or_else(|_| {
            invalid.push(("occurred_at", FieldReason::Time));
            None
        });
    let program = form
        .program
        .as_deref()
        .map(ProgramCode::parse)
        .transpose()
        .unwrap_or_else(|_| {
            invalid.push(("program", FieldReason::Program));
            None
        });
    if form.store_id.is_some_and(|id| id.0 <= 0) {
        invalid.push(("store_id", FieldReason::Id));
    }
    let (Some(member_id), Some(order_id), Some(amount), true) =
        (member_id, order_id, amount, invalid.is_empty())
    else {
        return Err(ApiError::Invalid(invalid));
    };
    Ok(EarnRequest {
        merchant_id: caller.merchant_id,
        order_id,
        member_id,
        amount,
        occurred_at,
        store_id: form.store_id,
        program,
        source: Source::Api,
        device_id: form.device_id,
        ip: Some(caller.ip.clone()),
    })
}

/// A CNY amount above zero with at most two decimals.
fn positive_money(text: &str) -> Result<Money, ApiError> {
    Money::parse(text)
        .ok()
        .filter(|m| m.is_positive())
        .ok_or_else(|| ApiError::invalid("amount_cny", FieldReason::Amount))
}

fn stored_breakdown(order: &EarnOrder) -> Result<Breakdown, ApiError> {
    serde_json::from_value(order.breakdown.clone()).map_err(|e| ApiError::Internal(e.into()))
}

fn earn_view(
    order: &EarnOrder,
    breakdown: &Breakdown,
    upgraded_to: Option<String>,
    locale: Locale,
) -> EarnView {
    EarnView {
        order_id: order.order_id.clone(),
        member_id: order.member_id,
        program: order.program_code.to_string(),
        store_id: order.store_id,
        amount_cny: Money::from_fen(order.amount_fen).to_string(),
        points: order.points.to_string(),
        breakdown: BreakdownView {
            earn_rate: breakdown.earn_rate.normalize().to_string(),
            base_points: breakdown.base_points.to_string(),
            tier: TierBonusView {
                code: breakdown.tier.code.clone(),
                bonus_bp: breakdown.tier.bonus_bp,
                points: breakdown.tier.points.to_string(),
            },
            campaigns: breakdown
                .campaigns
                .iter()
                .map(|c| CampaignBonusView {
                    campaign_id: c.campaign_id,
                    name: match locale {
                        Locale::ZhCn => c.name_zh.clone(),
                        Locale::En => c.name_en.clone(),
                    },
                    multiplier: c.multiplier.to_string(),
                    points: c.points.to_string(),
                })
                .collect(),
            total_points: breakdown.total_points.to_string(),
        },
        occurred_at: order.occurred_at,
        refunded_cny: Money::from_fen(order.refunded_fen).to_string(),
        points_reversed: order.points_reversed.to_string(),
        points_unrecovered: order.points_unrecovered.to_string(),
        upgraded_to,
        created_at: order.created_at,
    }
}
