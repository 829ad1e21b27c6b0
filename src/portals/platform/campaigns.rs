//! Campaigns (积分活动): every campaign with its window, merchants, budget and
//! what is spent, and — for admins and operators — creating one and pausing,
//! resuming or ending it. The earn service gives the bonuses (`campaign`).

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::{
    campaign::{self, CampaignError, InvalidCampaign, Listed, NewCampaign, Status},
    domain::{id::MerchantId, money::Money},
    i18n::Locale,
    i18n::format,
    merchant::{self, Merchant},
    people::operator::OperatorRole,
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        datetime_local,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    super::merchant::form::{FieldErrors, unprocessable},
    action::Action,
};

/// Who creates and changes campaigns; every operator sees them.
const CAMPAIGN_KEEPERS: &[OperatorRole] = &[OperatorRole::Admin, OperatorRole::Operator];
const PAGE: &str = "/platform/campaigns";
const LIST_SIZE: i64 = 200;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_campaigns)
        .service(create_campaign)
        .service(set_campaign_status);
}

#[derive(Debug, Default, Deserialize)]
struct CampaignForm {
    name_zh: String,
    name_en: String,
    multiplier: String,
    #[serde(default)]
    steps: String,
    starts_at: String,
    ends_at: String,
    budget: String,
    house_share: String,
    /// The merchant checkboxes, `merchant_<id>=on` (a URL-encoded form cannot
    /// be read into a list).
    #[serde(flatten)]
    rest: HashMap<String, String>,
}

impl CampaignForm {
    fn chosen(&self) -> Vec<i64> {
        self.rest
            .keys()
            .filter_map(|k| k.strip_prefix("merchant_")?.parse().ok())
            .collect()
    }

    fn is_chosen(&self, merchant_id: MerchantId) -> bool {
        self.rest.contains_key(&format!("merchant_{merchant_id}"))
    }

    /// Parses what can be parsed; the domain checks the rest.
    fn parse(&self) -> Result<NewCampaign, InvalidCampaign> {
        let multiplier =
            Decimal::from_str_exact(self.multiplier.trim().trim_end_matches(['x', 'X', '倍']))
                .map_err(|_| InvalidCampaign::Multiplier)?;
        let steps = campaign::parse_steps(&self.steps)?;
        let starts_at = datetime_local::parse(&self.starts_at).ok_or(InvalidCampaign::Window)?;
        let ends_at = datetime_local::parse(&self.ends_at).ok_or(InvalidCampaign::Window)?;
        let budget = Money::parse(self.budget.trim()).map_err(|_| InvalidCampaign::Budget)?;
        let share = Decimal::from_str_exact(self.house_share.trim().trim_end_matches('%'))
            .ok()
            .and_then(|p| {
                (p * Decimal::ONE_HUNDRED)
                    .normalize()
                    .to_string()
                    .parse::<i32>()
                    .ok()
            })
            .ok_or(InvalidCampaign::HouseShare)?;
        Ok(NewCampaign {
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            multiplier,
            steps,
            starts_at,
            ends_at,
            merchant_ids: self.chosen(),
            budget,
            house_share_bp: share,
        })
    }
}

struct CampaignRow {
    id: i64,
    name: String,
    /// The style of its status badge.
    status_css: &'static str,
    status_label: String,
    window: String,
    merchants: String,
    rules: String,
    budget: String,
    spent: String,
    remaining: String,
    /// 0–100, for the progress bar.
    spent_bar: i64,
    house_share: String,
    /// The status changes this campaign allows, with their labels.
    actions: Vec<(&'static str, String)>,
}

impl CampaignRow {
    fn of(listed: &Listed, locale: Locale) -> Self {
        let c = &listed.campaign;
        let mut rules = Vec::new();
        if c.multiplier > Decimal::ONE {
            rules.push(locale.t_with(
                "earning_portals.campaign.times",
                &[("multiplier", &c.multiplier.normalize().to_string())],
            ));
        }
        let steps = campaign::format_steps(&c.steps());
        if !steps.is_empty() {
            rules.push(steps);
        }
        let actions = match c.status {
            Status::Active => vec![Status::Paused, Status::Ended],
            Status::Paused => vec![Status::Active, Status::Ended],
            Status::Ended => Vec::new(),
        };
        Self {
            id: c.id,
            name: c.name(locale).to_owned(),
            status_css: match c.status {
                Status::Active => "active",
                Status::Paused => "suspended",
                Status::Ended => "expired",
            },
            status_label: locale
                .t(&format!("earning_portals.campaign.status.{}", c.status))
                .into_owned(),
            window: format!(
                "{} – {}",
                format::datetime(c.starts_at, locale),
                format::datetime(c.ends_at, locale)
            ),
            merchants: listed
                .merchants
                .iter()
                .map(|m| m.name(locale))
                .collect::<Vec<_>>()
                .join("、"),
            rules: rules.join(" · "),
            budget: format::money(Money::from_fen(c.budget_fen)),
            spent: format::money(Money::from_fen(c.spent_fen)),
            remaining: format::money(Money::from_fen(c.remaining_fen())),
            spent_bar: c.spent_fen.saturating_mul(100) / c.budget_fen.max(1),
            house_share: format!("{}%", Decimal::new(c.house_share_bp.into(), 2).normalize()),
            actions: actions
                .into_iter()
                .map(|s| {
                    (
                        s.as_str(),
                        locale
                            .t(&format!("earning_portals.campaign.action.{}", s.as_str()))
                            .into_owned(),
                    )
                })
                .collect(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/campaigns.html")]
struct CampaignsPage {
    chrome: Chrome,
    rows: Vec<CampaignRow>,
    /// Whether this operator may create and change campaigns.
    can_edit: bool,
    merchants: Vec<Merchant>,
    form: CampaignForm,
    errors: FieldErrors,
}

async fn page(
    ctx: &PageContext,
    who: &OperatorPrincipal,
    state: &AppState,
    form: CampaignForm,
    errors: FieldErrors,
) -> Result<CampaignsPage, WebError> {
    let (listed, merchants) = state
        .db(|conn| {
            Ok::<_, WebError>((
                campaign::list(conn, LIST_SIZE)?,
                merchant::list_active(conn)?,
            ))
        })
        .await?;
    Ok(CampaignsPage {
        chrome: super::chrome(ctx, who, PAGE),
        rows: listed
            .iter()
            .map(|l| CampaignRow::of(l, ctx.locale))
            .collect(),
        can_edit: CAMPAIGN_KEEPERS.contains(&who.operator.role),
        merchants,
        form,
        errors,
    })
}

#[get("/campaigns")]
async fn list_campaigns(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<CampaignsPage, WebError> {
    let form = CampaignForm {
        multiplier: "1".to_owned(),
        house_share: "50".to_owned(),
        ..CampaignForm::default()
    };
    page(&ctx, &who, &state, form, FieldErrors::default()).await
}

#[post("/campaigns")]
async fn create_campaign(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CampaignForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, CAMPAIGN_KEEPERS)?;
    let invalid = |form: CampaignForm, invalid: InvalidCampaign| {
        let errors = FieldErrors::one(invalid.field(), invalid.message(ctx.locale));
        let (ctx, who, state) = (&ctx, &who, &state);
        async move { unprocessable(&page(ctx, who, state, form, errors).await?) }
    };
    let new = match form.parse() {
        Ok(new) => new,
        Err(e) => return invalid(form, e).await,
    };
    let created = action
        .run(move |conn, actor| campaign::create(conn, actor, &new))
        .await?;
    match created {
        Err(CampaignError::Invalid(e)) => invalid(form, e).await,
        created => action.finish(created, |_| "earning_portals.campaign.created", PAGE),
    }
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
}

#[post("/campaigns/{id}/status")]
async fn set_campaign_status(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, CAMPAIGN_KEEPERS)?.addressed();
    let to = Status::parse(&form.status).ok_or(WebError::BadRequest)?;
    let id = id.into_inner();
    // A second click, or another operator first, is a refusal: it says so
    // and changes nothing.
    action
        .done(
            move |conn, actor| campaign::set_status(conn, actor, id, to),
            |_| format!("earning_portals.campaign.flash.{}", to.as_str()),
            PAGE,
        )
        .await
}
