//! Caps on high-demand rewards (高频权益管理): every merchant's rewards with
//! their daily and monthly caps, overall and per member, and what the overall
//! caps leave today and this month. Admins and operators set caps; everyone
//! may look. The caps hold exactly under concurrency (`redemption::caps`).

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use serde::Deserialize;

use crate::{
    catalog::RewardStatus,
    domain::id::{MerchantId, RewardId},
    i18n::Locale,
    merchant,
    people::operator::OperatorRole,
    redemption::{self, CappedReward, Caps},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::action::Action;

const CAP_KEEPERS: &[OperatorRole] = &[OperatorRole::Admin, OperatorRole::Operator];
const PAGE: &str = "/platform/rewards";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list).service(update);
}

struct Row {
    id: RewardId,
    title: String,
    merchant: String,
    status: RewardStatus,
    status_label: String,
    stock: i64,
    caps: [String; 4],
    remaining_today: String,
    remaining_month: String,
}

impl Row {
    fn of(reward: &CappedReward, merchants: &HashMap<MerchantId, String>, locale: Locale) -> Self {
        let cap = |value: Option<i32>| value.map(|v| v.to_string()).unwrap_or_default();
        let left = |value: Option<i64>| match value {
            Some(v) => v.to_string(),
            None => locale.t("reward_caps.uncapped").into_owned(),
        };
        Self {
            id: reward.reward_id,
            title: match locale {
                Locale::ZhCn => reward.title_zh.clone(),
                Locale::En => reward.title_en.clone(),
            },
            merchant: merchants
                .get(&reward.merchant_id)
                .cloned()
                .unwrap_or_default(),
            status: reward.status,
            status_label: locale
                .t(&format!("reward_caps.status.{}", reward.status))
                .into_owned(),
            stock: reward.stock,
            caps: [
                cap(reward.caps.daily_total),
                cap(reward.caps.monthly_total),
                cap(reward.caps.daily_per_member),
                cap(reward.caps.monthly_per_member),
            ],
            remaining_today: left(reward.remaining.today),
            remaining_month: left(reward.remaining.this_month),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/reward_caps.html")]
struct CapsPage {
    chrome: Chrome,
    can_edit: bool,
    rows: Vec<Row>,
}

#[get("/rewards")]
async fn list(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<CapsPage, WebError> {
    let locale = ctx.locale;
    let (rewards, merchants) = state
        .db(move |conn| {
            let rewards = redemption::caps_overview(conn, Utc::now())?;
            let merchants: HashMap<MerchantId, String> = merchant::standing::list(conn)?
                .into_iter()
                .map(|m| (m.id, m.name(locale).to_owned()))
                .collect();
            Ok::<_, WebError>((rewards, merchants))
        })
        .await?;
    Ok(CapsPage {
        chrome: super::chrome(&ctx, &who, PAGE),
        can_edit: CAP_KEEPERS.contains(&who.operator.role),
        rows: rewards
            .iter()
            .map(|r| Row::of(r, &merchants, locale))
            .collect(),
    })
}

/// Empty fields are no cap.
#[derive(Deserialize)]
struct CapsForm {
    #[serde(default)]
    daily_total: String,
    #[serde(default)]
    monthly_total: String,
    #[serde(default)]
    daily_per_member: String,
    #[serde(default)]
    monthly_per_member: String,
}

impl CapsForm {
    /// None when a field is neither empty nor a whole number above zero.
    fn caps(&self) -> Option<Caps> {
        let cap = |text: &str| -> Option<Option<i32>> {
            let text = text.trim();
            if text.is_empty() {
                return Some(None);
            }
            text.parse::<i32>().ok().filter(|n| *n > 0).map(Some)
        };
        Some(Caps {
            daily_total: cap(&self.daily_total)?,
            monthly_total: cap(&self.monthly_total)?,
            daily_per_member: cap(&self.daily_per_member)?,
            monthly_per_member: cap(&self.monthly_per_member)?,
        })
    }
}

#[post("/rewards/{id}/caps")]
async fn update(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<RewardId>,
    CsrfForm(form): CsrfForm<CapsForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, CAP_KEEPERS)?.addressed();
    let Some(caps) = form.caps() else {
        return Ok(action.invalid("reward_caps.error.invalid", PAGE));
    };
    let id = id.into_inner();
    action
        .done(
            move |conn, actor| redemption::set_caps(conn, actor, id, caps),
            |_| "reward_caps.flash.saved",
            PAGE,
        )
        .await
}
