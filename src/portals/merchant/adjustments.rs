//! Manual point adjustments (积分调整): the owner or a manager adds points to a
//! member or takes some back, with a reason. Small ones are booked at once;
//! above `adjustment::APPROVAL_THRESHOLD` they wait on the approvals page for
//! another owner or manager (see `earn::adjustment`).

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    crypto,
    domain::{phone::Phone, points::PointCount},
    earn::adjustment::{self, AdjustmentError, AdjustmentStatus, Listed, NewAdjustment},
    people::merchant_user::MerchantRole,
    web::auth::{MerchantPrincipal, Signed},
};

use super::{
    super::prelude::*,
    form::{FieldErrors, known_member, unprocessable},
};

/// Who adjusts points (and, on the approvals page, approves large ones).
pub(super) const ADJUSTERS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];
const PAGE: &str = "/merchant/adjustments";
const LIST_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_adjustments).service(request_adjustment);
}

#[derive(Debug, Default, Deserialize)]
struct AdjustForm {
    /// One-time token of this rendering of the form (see `NewAdjustment`).
    token: String,
    phone: String,
    /// `add` or `deduct`.
    direction: String,
    points: String,
    reason: String,
}

struct Parsed {
    phone: Phone,
    points: i64,
}

impl AdjustForm {
    fn parse(&self, locale: Locale) -> Result<Parsed, FieldErrors> {
        let mut errors = FieldErrors::default();
        let phone = Phone::parse(self.phone.trim()).ok();
        if phone.is_none() {
            errors.push(
                "phone",
                locale.t("earning_portals.field.phone_invalid").into_owned(),
            );
        }
        let sign = match self.direction.as_str() {
            "add" => Some(1),
            "deduct" => Some(-1),
            _ => None,
        };
        if sign.is_none() {
            errors.push(
                "direction",
                locale
                    .t("earning_portals.adjust.direction_invalid")
                    .into_owned(),
            );
        }
        let points = PointCount::parse_typed(&self.points)
            .ok()
            .map(PointCount::get)
            .filter(|p| *p <= adjustment::MAX_POINTS);
        if points.is_none() {
            errors.push(
                "points",
                AdjustmentError::InvalidPoints
                    .message(locale)
                    .unwrap_or_default(),
            );
        }
        match (phone, sign, points) {
            (Some(phone), Some(sign), Some(points)) => Ok(Parsed {
                phone,
                points: sign * points,
            }),
            _ => Err(errors),
        }
    }
}

struct AdjustmentRow {
    pub at: String,
    pub points: String,
    pub incoming: bool,
    pub reason: String,
    pub requested_by: String,
    /// `booked`, `pending`, `rejected` or `failed`.
    pub state: String,
    pub state_label: String,
    pub approval_id: Option<i64>,
}

impl AdjustmentRow {
    fn of(listed: &Listed, locale: Locale) -> Self {
        let a = &listed.adjustment;
        let state = listed.state().to_owned();
        Self {
            at: format::datetime(a.created_at, locale),
            points: format!(
                "{}{}",
                if a.points > 0 { "+" } else { "" },
                format::count(a.points)
            ),
            incoming: a.points > 0,
            reason: a.reason.clone(),
            requested_by: a.requested_by.clone(),
            state_label: locale
                .t(&format!("earning_portals.adjust.state.{state}"))
                .into_owned(),
            state: if state == "booked" {
                "approved".to_owned()
            } else {
                state
            },
            approval_id: a.approval_id,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/adjustments.html")]
struct AdjustmentsPage {
    chrome: Chrome,
    form: AdjustForm,
    errors: FieldErrors,
    refusal: Option<String>,
    rows: Vec<AdjustmentRow>,
    threshold: String,
}

async fn page(
    ctx: &PageContext,
    who: &MerchantPrincipal,
    state: &AppState,
    form: AdjustForm,
    errors: FieldErrors,
    refusal: Option<String>,
) -> Result<AdjustmentsPage, WebError> {
    let merchant_id = who.merchant.id;
    let listed = state
        .db(move |conn| adjustment::list(conn, merchant_id, LIST_SIZE))
        .await?;
    Ok(AdjustmentsPage {
        chrome: super::chrome(ctx, who, PAGE),
        form,
        errors,
        refusal,
        rows: listed
            .iter()
            .map(|l| AdjustmentRow::of(l, ctx.locale))
            .collect(),
        threshold: format::count(adjustment::APPROVAL_THRESHOLD),
    })
}

#[get("/adjustments")]
async fn show_adjustments(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<AdjustmentsPage, WebError> {
    who.require(ADJUSTERS)?;
    let form = AdjustForm {
        token: crypto::random_token(),
        direction: "add".to_owned(),
        ..AdjustForm::default()
    };
    page(&ctx, &who, &state, form, FieldErrors::default(), None).await
}

#[post("/adjustments")]
async fn request_adjustment(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<AdjustForm>,
) -> Result<HttpResponse, WebError> {
    who.require(ADJUSTERS)?;
    let parsed = match form.parse(ctx.locale) {
        Ok(parsed) => parsed,
        Err(errors) => return unprocessable(&page(&ctx, &who, &state, form, errors, None).await?),
    };
    let found = match known_member(&state, &parsed.phone, "phone", ctx.locale).await? {
        Ok(found) => found,
        Err(errors) => return unprocessable(&page(&ctx, &who, &state, form, errors, None).await?),
    };
    let token = form.token.trim();
    // Only our own form sends one; anything else is a tampered request.
    if !(16..=64).contains(&token.len())
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(WebError::BadRequest);
    }
    let new = NewAdjustment {
        merchant_id: who.merchant.id,
        member_id: found.id,
        member_label: parsed.phone.masked(),
        points: parsed.points,
        reason: form.reason.clone(),
        request_token: token.to_owned(),
    };
    let (actor, policy, registry) = (
        who.actor.clone(),
        state.approval_policy,
        state.approvals.clone(),
    );
    let requested = state
        .db(move |conn| {
            Ok::<_, WebError>(adjustment::request(conn, &actor, &new, policy, &registry))
        })
        .await?;
    match requested {
        Ok(row) => {
            let key = if row.status == AdjustmentStatus::Booked {
                "earning_portals.adjust.booked"
            } else {
                "earning_portals.adjust.filed"
            };
            set_flash(&ctx.session, FlashKind::Success, key);
            Ok(see_other(PAGE))
        }
        Err(AdjustmentError::InvalidReason) => {
            let errors = FieldErrors::one(
                "reason",
                AdjustmentError::InvalidReason
                    .message(ctx.locale)
                    .unwrap_or_default(),
            );
            unprocessable(&page(&ctx, &who, &state, form, errors, None).await?)
        }
        Err(e) if e.is_refusal() => {
            let refusal = Some(e.message(ctx.locale).unwrap_or_default());
            unprocessable(&page(&ctx, &who, &state, form, FieldErrors::default(), refusal).await?)
        }
        Err(e) => Err(flash::system(e)),
    }
}
