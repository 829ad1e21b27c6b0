//! The partner's own rewards catalog through the partner API (`GET /rewards`):
//! every reward of the calling merchant, whatever its status, as the merchant
//! console lists them (`crate::catalog` owns them).

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    catalog::{self, Reward, RewardStatus},
    domain::{
        id::{RewardId, StoreId},
        money::Money,
    },
    web::state::AppState,
};

use super::{
    caller::{Caller, db},
    problem::{ApiError, Problem},
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_rewards);
}

/// The merchant's catalog, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RewardList {
    rewards: Vec<RewardView>,
}

/// One reward of the merchant's.
#[derive(Debug, Serialize, ToSchema)]
pub struct RewardView {
    #[schema(value_type = i64)]
    reward_id: RewardId,
    #[schema(example = "大杯拿铁一杯")]
    title_zh: String,
    #[schema(example = "A large latte")]
    title_en: String,
    /// dining, drinks, groceries, entertainment, travel, books, fuel,
    /// services or other.
    #[schema(example = "drinks")]
    category: String,
    /// What the reward is worth, CNY.
    #[schema(example = "32.00")]
    value_cny: String,
    /// The price in the merchant's own points, when it may be paid that way.
    #[schema(example = "640")]
    points_price: Option<String>,
    /// Whether other programs' points and ALP may pay for it.
    other_points: bool,
    /// Whether cash collected at the counter may make up the rest.
    cash_topup: bool,
    /// How many are left.
    #[schema(example = "500")]
    stock: String,
    /// `draft`, `published` or `unpublished`; members see published rewards
    /// within their validity.
    #[schema(value_type = String, example = "published")]
    status: RewardStatus,
    valid_from: DateTime<Utc>,
    /// Not on offer from this moment.
    valid_until: DateTime<Utc>,
    /// The stores where it is collected; empty: every store of the merchant.
    #[schema(value_type = Vec<i64>)]
    store_ids: Vec<StoreId>,
}

/// This merchant's rewards, every status, newest first.
#[utoipa::path(
    tag = "rewards",
    responses(
        (status = 200, body = RewardList),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[get("/rewards")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn list_rewards(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let merchant_id = caller.merchant_id;
    let rewards = db(&state, move |conn| {
        // A catalog is tens of rewards: one query for each one's stores is fine.
        catalog::of_merchant(conn, merchant_id)?
            .into_iter()
            .map(|reward| {
                let stores = catalog::stores_of(conn, merchant_id, reward.id)?;
                Ok(reward_view(reward, stores))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(RewardList { rewards }))
}

fn reward_view(reward: Reward, store_ids: Vec<StoreId>) -> RewardView {
    RewardView {
        reward_id: reward.id,
        value_cny: Money::from_fen(reward.value_fen).to_string(),
        points_price: reward.points_price.map(|points| points.to_string()),
        stock: reward.stock.to_string(),
        title_zh: reward.title_zh,
        title_en: reward.title_en,
        category: reward.category,
        other_points: reward.other_points,
        cash_topup: reward.cash_topup,
        status: reward.status,
        valid_from: reward.valid_from,
        valid_until: reward.valid_until,
        store_ids,
    }
}
