//! Members through the partner API: enrol or find by mobile number, a member's
//! standing, and their balances in every program. A key sees only members its
//! merchant knows (see `known_member`); for any other id the answer is 403,
//! whether or not such a member exists.

use actix_web::{HttpResponse, get, http::StatusCode, post, web};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    crypto::Keys,
    domain::{id::MemberId, phone::Phone},
    people::{
        PeopleError,
        member::{self, Member, PRIVACY_POLICY_VERSION},
    },
    wallet::{self, Wallet},
    web::state::AppState,
};

use super::{
    caller::{Caller, db, once},
    idempotency::{IdempotencyKey, Reply},
    known_member,
    problem::{ApiError, FieldReason, Problem},
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(enrol_member)
        .service(show_member)
        .service(show_balances);
}

/// `POST /members`: who to enrol or find.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EnrolForm {
    /// A mainland mobile number: `+8613800000000`, `13800000000`, ….
    #[serde(default)]
    #[schema(example = "+8613800000000")]
    phone: String,
    /// The member's name for a new member (1–60 characters); ignored for a
    /// member who already exists.
    name: Option<String>,
}

/// A member as a partner sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    #[schema(value_type = i64)]
    member_id: MemberId,
    /// Masked: `138****0000`.
    phone: String,
    display_name: String,
    /// The alliance tier: `basic`, `silver`, `gold` or `platinum`.
    tier: String,
    identity: IdentityStatus,
    /// The member's latest privacy-policy decision; null if never asked
    /// (members enrolled by a partner until they open the member app).
    consent: Option<ConsentView>,
    created_at: DateTime<Utc>,
}

/// Whether the member's real name and ID number are on file (实名认证).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    Verified,
    Unverified,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    granted: bool,
    version: String,
    /// Whether `version` is the policy in force now.
    current: bool,
    recorded_at: DateTime<Utc>,
}

/// A member's points in every program they hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalancesView {
    #[schema(value_type = i64)]
    member_id: MemberId,
    balances: Vec<BalanceView>,
    /// The sum of every valued balance, CNY.
    #[schema(example = "12.50")]
    total_value_cny: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// The program code, e.g. `COFFEE`, or `ALP` for the alliance's hub points.
    program: String,
    name: String,
    /// Points the member may spend now.
    #[schema(example = "1200")]
    available: String,
    /// Points held by open redemptions.
    #[schema(example = "0")]
    held: String,
    /// The available points' worth at the program's settlement value, rounded
    /// down; null where no settlement value applies.
    #[schema(example = "12.00")]
    value_cny: Option<String>,
}

/// Enrol a member by mobile number, or find the member who has it.
///
/// 201 when this merchant enrols the number for the first time, 200 when this
/// merchant had enrolled it (or the member had earned here) before. The status
/// says nothing about other merchants: a number already in the alliance
/// through another partner, or through the member app, is 201 for a merchant
/// that meets it for the first time, so a partner cannot probe who is a
/// member elsewhere. Either way the merchant knows the member from now on and
/// may read their balances.
#[utoipa::path(
    tag = "members",
    request_body = EnrolForm,
    params(("Idempotency-Key" = String, Header, description = "1–64 printable ASCII characters")),
    responses(
        (status = 201, description = "Newly enrolled with this merchant (whether or not the number is known elsewhere in the alliance)", body = MemberView),
        (status = 200, description = "This merchant had enrolled the member before", body = MemberView),
        (status = 400, description = "Malformed body or missing Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Idempotency-Key used with another request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[post("/members")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn enrol_member(
    caller: Caller,
    key: IdempotencyKey,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let form: EnrolForm = caller.json()?;
    let phone = if form.phone.trim().is_empty() {
        return Err(ApiError::invalid("phone", FieldReason::Required));
    } else {
        Phone::parse(&form.phone).map_err(|_| ApiError::invalid("phone", FieldReason::Phone))?
    };
    let keys = state.keys.clone();
    once(&state, caller, key, move |conn, caller, actor| {
        let member = member::enrol_or_find(conn, &keys, actor, &phone, form.name.as_deref())
            .map_err(|e| match e {
                // The one field the API checks itself names, as validation does.
                PeopleError::InvalidName => ApiError::invalid("name", FieldReason::Name),
                other => other.into(),
            })?;
        // The status speaks only of this merchant's relation with the member:
        // whether another merchant (or the member) had the number on file
        // first is not this partner's business.
        let newly_linked = known_member::link(conn, actor, caller.merchant_id, member.id)?;
        let status = if newly_linked {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Reply::json(status, &view(conn, &keys, &member)?)
    })
    .await
}

/// A member's standing: tier, identity verification and privacy consent.
#[utoipa::path(
    tag = "members",
    params(("member_id" = i64, Path, description = "As returned by POST /members")),
    responses(
        (status = 200, body = MemberView),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a member this merchant knows", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[get("/members/{member_id}")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn show_member(
    caller: Caller,
    path: web::Path<MemberId>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    let keys = state.keys.clone();
    let view = db(&state, move |conn| {
        let member = known(conn, &caller, member_id)?;
        view(conn, &keys, &member)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A member's balance in every program they hold points in, with held points,
/// the CNY value of each and the total.
#[utoipa::path(
    tag = "members",
    params(("member_id" = i64, Path, description = "As returned by POST /members")),
    responses(
        (status = 200, body = BalancesView),
        (status = 401, description = "Signature refused", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a member this merchant knows", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signature" = []))
)]
#[get("/members/{member_id}/balances")]
#[tracing::instrument(skip_all, fields(merchant_id = %caller.merchant_id))]
async fn show_balances(
    caller: Caller,
    path: web::Path<MemberId>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    let wallet = db(&state, move |conn| {
        known(conn, &caller, member_id)?;
        Ok(wallet::of_member(conn, member_id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(balances_view(member_id, wallet)))
}

/// The member, if the merchant knows them; 403 otherwise.
fn known(
    conn: &mut PgConnection,
    caller: &Caller,
    member_id: MemberId,
) -> Result<Member, ApiError> {
    caller.ensure_knows(conn, member_id)?;
    member::find(conn, member_id)?.ok_or(ApiError::MemberNotKnown)
}

fn view(conn: &mut PgConnection, keys: &Keys, member: &Member) -> Result<MemberView, ApiError> {
    let phone = member
        .phone(keys)
        .map_err(|e| ApiError::Internal(e.into()))?;
    let identity = if member::identity_verified(conn, member.id)? {
        IdentityStatus::Verified
    } else {
        IdentityStatus::Unverified
    };
    let consent = member::consent(conn, member.id)?.map(|c| ConsentView {
        current: c.version == PRIVACY_POLICY_VERSION,
        granted: c.granted,
        version: c.version,
        recorded_at: c.recorded_at,
    });
    Ok(MemberView {
        member_id: member.id,
        phone: phone.masked(),
        display_name: member.display_name.clone(),
        tier: member.tier.clone(),
        identity,
        consent,
        created_at: member.created_at,
    })
}

fn balances_view(member_id: MemberId, wallet: Wallet) -> BalancesView {
    BalancesView {
        member_id,
        balances: wallet
            .balances
            .into_iter()
            .map(|b| BalanceView {
                program: b.code,
                name: b.name,
                available: b.available.to_string(),
                held: b.held.to_string(),
                value_cny: b.value.map(|v| v.to_string()),
            })
            .collect(),
        total_value_cny: wallet.total_value.to_string(),
    }
}
