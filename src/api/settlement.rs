//! The merchant's settlement statements through the partner API: the list for a
//! range of dates, and one statement with its payout split and collection. Read
//! only; the statements themselves are made by `crate::settlement`.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Days, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{
        id::{MerchantId, StatementId},
        shanghai,
    },
    settlement::{
        collection::{self, CollectionStatus},
        payout::{self, PayoutStatus},
        recipients,
        statement::{self, Line, Statement},
    },
    web::state::AppState,
};

use super::{
    caller::{Caller, db},
    problem::{ApiError, FieldReason, Problem},
};

/// A range longer than this would be a bulk export, not an integration's query.
const MAX_RANGE_DAYS: u64 = 366;
/// Daily statements over the longest range, with room to spare.
const MAX_STATEMENTS: i64 = 400;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_settlements).service(show_settlement);
}

/// `GET /settlements?from=…&to=…`: Shanghai dates, both included.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// The first day (YYYY-MM-DD, Shanghai time) a listed statement's period may end on.
    #[param(required = true, value_type = String, example = "2026-11-01")]
    from: Option<String>,
    /// The last day (YYYY-MM-DD, Shanghai time), at most 366 days after `from`.
    #[param(required = true, value_type = String, example = "2026-11-30")]
    to: Option<String>,
}

/// The statements whose period ends within the range, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementList {
    statements: Vec<StatementView>,
}

/// A settlement statement. Positions are signed CNY: positive, the house owes
/// the merchant.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementView {
    #[schema(value_type = i64)]
    statement_id: StatementId,
    /// `daily`, `weekly` or `monthly`.
    #[schema(example = "daily")]
    cycle: String,
    /// The first day of the period (Shanghai time).
    #[schema(value_type = String, example = "2026-11-21")]
    period_start: NaiveDate,
    /// The last day of the period (Shanghai time), included.
    #[schema(value_type = String, example = "2026-11-21")]
    period_end: NaiveDate,
    #[schema(example = "0.00")]
    opening_cny: String,
    #[schema(example = "125.40")]
    activity_cny: String,
    #[schema(example = "125.40")]
    closing_cny: String,
    /// `payout`, `collection` or `nil`.
    #[schema(example = "payout")]
    outcome: String,
    /// The platform's share of the payout.
    #[schema(example = "1.25")]
    platform_fee_cny: String,
    /// What was paid out to recipients.
    #[schema(example = "124.15")]
    payout_cny: String,
    /// Carried into the next statement as its opening.
    #[schema(example = "0.00")]
    carried_cny: String,
    created_at: DateTime<Utc>,
    /// The period's activity by kind of movement and direction.
    lines: Vec<LineView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    /// The kind of movement, e.g. `exchange`, `redemption`.
    #[schema(example = "exchange")]
    kind: String,
    /// `in` (the house owes the merchant more) or `out`.
    #[schema(example = "in")]
    direction: String,
    /// Reverses activity of an earlier period.
    correction: bool,
    transfers: i32,
    /// Signed: negative when `out`.
    #[schema(example = "125.40")]
    amount_cny: String,
}

/// One statement with what it decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementDetail {
    #[serde(flatten)]
    statement: StatementView,
    /// The payout to each recipient, when the outcome is `payout`.
    payouts: Vec<PayoutView>,
    /// What the merchant owes, when the outcome is `collection`.
    collection: Option<CollectionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutView {
    payout_id: i64,
    #[schema(example = "本店结算账户")]
    recipient: String,
    /// The account's last four digits, masked.
    #[schema(example = "****6789")]
    account: String,
    #[schema(example = "124.15")]
    amount_cny: String,
    /// The bank transfer's end-to-end reference.
    #[schema(example = "ALC-S7-1")]
    reference: String,
    /// `pending`, `batched`, `sent`, `confirmed` or `failed`.
    #[schema(value_type = String, example = "sent")]
    status: PayoutStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionView {
    collection_id: i64,
    #[schema(example = "88.00")]
    amount_cny: String,
    #[schema(example = "0.00")]
    collected_cny: String,
    #[schema(value_type = String, example = "2026-11-28")]
    due_on: NaiveDate,
    /// `open`, `overdue`, `paid` or `superseded` (rolled into a later statement).
    #[schema(value_type = String, example = "open")]
    status: CollectionStatus,
}

/// The statements whose period ends between two dates.
#[utoipa::path(
    tag = "settlements",
    params(RangeQuery),
    responses(
        (status = 200, body = StatementList),
        (status = 400, description = "A date missing or not YYYY-MM-DD; `to` before `from`; more than 366 days", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[get("/settlements")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn list_settlements(
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (from, to) = parse_range(req.query_string())?;
    let merchant_id = caller.merchant_id;
    let statements = db(&state, move |conn| {
        // A statement's last day is the day before its (exclusive) end.
        let found = statement::of_merchant(
            conn,
            merchant_id,
            Some(shanghai::midnight(from)),
            Some(shanghai::midnight(to + Days::new(1))),
            MAX_STATEMENTS,
        )?;
        found
            .iter()
            .map(|s| Ok(statement_view(s, &statement::lines(conn, s.id)?)))
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(StatementList { statements }))
}

/// One statement with its lines, payout split and collection.
#[utoipa::path(
    tag = "settlements",
    params(("statement_id" = i64, Path, description = "The statement's id")),
    responses(
        (status = 200, body = StatementDetail),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such statement of this merchant's", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[get("/settlements/{statement_id}")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn show_settlement(
    caller: Caller,
    path: web::Path<StatementId>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (id, merchant_id) = (path.into_inner(), caller.merchant_id);
    let detail = db(&state, move |conn| detail(conn, merchant_id, id)).await?;
    Ok(HttpResponse::Ok().json(detail))
}

fn detail(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    id: StatementId,
) -> Result<StatementDetail, ApiError> {
    // Another merchant's statement is as absent as one that does not exist.
    let found = statement::find(conn, id)?
        .filter(|s| s.merchant_id == merchant_id)
        .ok_or(ApiError::NotFound)?;
    let mut payouts = Vec::new();
    for p in payout::of_statement(conn, id)? {
        let recipient = recipients::find(conn, p.recipient_id)?.ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("payout {} lost its recipient", p.id))
        })?;
        payouts.push(PayoutView {
            payout_id: p.id,
            recipient: recipient.name,
            account: format!("****{}", recipient.account_last4),
            amount_cny: p.amount.to_string(),
            reference: p.reference,
            status: p.status,
        });
    }
    let collection = collection::of_statement(conn, id)?.map(|c| CollectionView {
        collection_id: c.id,
        amount_cny: c.amount.to_string(),
        collected_cny: c.collected.to_string(),
        due_on: c.due_on,
        status: c.status,
    });
    Ok(StatementDetail {
        statement: statement_view(&found, &statement::lines(conn, id)?),
        payouts,
        collection,
    })
}

/// `from` and `to` as dates, in order and at most a year apart; each wrong
/// field is reported.
fn parse_range(query: &str) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let query: RangeQuery = serde_urlencoded::from_str(query).map_err(|_| {
        ApiError::InvalidQuery(vec![("from", FieldReason::Date), ("to", FieldReason::Date)])
    })?;
    let date = |field: &'static str, value: Option<&str>| match value {
        None => Err((field, FieldReason::Required)),
        Some(text) => {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| (field, FieldReason::Date))
        }
    };
    match (
        date("from", query.from.as_deref()),
        date("to", query.to.as_deref()),
    ) {
        (Ok(from), Ok(to)) if to < from => {
            Err(ApiError::InvalidQuery(vec![("to", FieldReason::DateRange)]))
        }
        (Ok(from), Ok(to)) if to > from + Days::new(MAX_RANGE_DAYS) => {
            Err(ApiError::InvalidQuery(vec![("to", FieldReason::DateRange)]))
        }
        (Ok(from), Ok(to)) => Ok((from, to)),
        (from, to) => Err(ApiError::InvalidQuery(
            [from.err(), to.err()].into_iter().flatten().collect(),
        )),
    }
}

fn statement_view(s: &Statement, lines: &[Line]) -> StatementView {
    let (first, last) = s.days();
    StatementView {
        statement_id: s.id,
        cycle: s.cycle.clone(),
        period_start: first,
        period_end: last,
        opening_cny: s.opening.to_string(),
        activity_cny: s.activity.to_string(),
        closing_cny: s.closing.to_string(),
        outcome: s.outcome.as_str().to_owned(),
        platform_fee_cny: s.platform_fee.to_string(),
        payout_cny: s.paid_out().to_string(),
        carried_cny: s.carried.to_string(),
        created_at: s.created_at,
        lines: lines
            .iter()
            .map(|l| LineView {
                kind: l.kind.clone(),
                direction: l.direction.as_str().to_owned(),
                correction: l.correction,
                transfers: l.transfers,
                amount_cny: l.signed().to_string(),
            })
            .collect(),
    }
}
