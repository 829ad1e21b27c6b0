//! The merchant's rewards catalog (权益目录): the owner and managers add rewards,
//! edit them, upload their images, publish and unpublish them; the rest of the
//! staff see them (cashiers serve them at the till). Another merchant's reward
//! is not found.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use serde::Deserialize;

use crate::{
    catalog::{
        self, CatalogError, Category, Reward, RewardDetails, RewardInput, RewardStatus, image,
    },
    domain::id::{RewardId, StoreId},
    merchant::store::{self, Store},
    people::merchant_user::MerchantRole,
    web::{
        auth::{MerchantPrincipal, Signed},
        upload::{CsrfUpload, Upload},
    },
};

use super::{
    super::prelude::*,
    form::{FieldErrors, unprocessable},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_rewards)
        .service(new_reward)
        .service(create_reward)
        .service(show_reward)
        .service(edit_reward)
        .service(set_reward_status)
        .service(upload_image);
}

/// Who sees the catalog: every role (cashiers serve the rewards).
pub const CATALOG_READERS: &[MerchantRole] = &MerchantRole::ALL;
/// Who changes it.
const CATALOG_EDITORS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];
const LIST: &str = "/merchant/catalog";

fn reward_path(id: RewardId) -> String {
    format!("{LIST}/{id}")
}

/// The form as posted, and as shown again.
#[derive(Debug, Default, Deserialize)]
struct RewardForm {
    title_zh: String,
    title_en: String,
    #[serde(default)]
    description_zh: String,
    #[serde(default)]
    description_en: String,
    category: String,
    value: String,
    #[serde(default)]
    points_price: String,
    other_points: Option<String>,
    cash_topup: Option<String>,
    stock: String,
    first_day: String,
    last_day: String,
    /// The store checkboxes, `store_<id>=on` (a URL-encoded form cannot carry
    /// a list under one name).
    #[serde(flatten)]
    rest: HashMap<String, String>,
}

impl RewardForm {
    /// A new reward's form: other programs may pay, valid from today.
    fn blank() -> Self {
        let today = Utc::now()
            .with_timezone(&crate::domain::shanghai::offset())
            .date_naive();
        Self {
            other_points: Some("on".to_owned()),
            first_day: today.to_string(),
            ..Self::default()
        }
    }

    fn of(reward: &Reward, store_ids: &[StoreId]) -> Self {
        Self {
            title_zh: reward.title_zh.clone(),
            title_en: reward.title_en.clone(),
            description_zh: reward.description_zh.clone(),
            description_en: reward.description_en.clone(),
            category: reward.category.clone(),
            value: reward.value().to_decimal().to_string(),
            points_price: reward
                .points_price
                .map(|p| p.to_string())
                .unwrap_or_default(),
            other_points: reward.other_points.then(|| "on".to_owned()),
            cash_topup: reward.cash_topup.then(|| "on".to_owned()),
            stock: reward.stock.to_string(),
            first_day: reward.first_day().to_string(),
            last_day: reward.last_day().to_string(),
            rest: store_ids
                .iter()
                .map(|id| (format!("store_{id}"), "on".to_owned()))
                .collect(),
        }
    }

    fn chosen_stores(&self) -> Vec<StoreId> {
        self.rest
            .keys()
            .filter_map(|k| k.strip_prefix("store_")?.parse().ok())
            .collect()
    }

    fn is_chosen(&self, store_id: StoreId) -> bool {
        self.rest.contains_key(&format!("store_{store_id}"))
    }

    fn parse(&self, locale: Locale) -> Result<RewardDetails, FieldErrors> {
        RewardDetails::parse(&RewardInput {
            title_zh: &self.title_zh,
            title_en: &self.title_en,
            description_zh: &self.description_zh,
            description_en: &self.description_en,
            category: &self.category,
            value: &self.value,
            points_price: &self.points_price,
            other_points: self.other_points.is_some(),
            cash_topup: self.cash_topup.is_some(),
            stock: &self.stock,
            first_day: &self.first_day,
            last_day: &self.last_day,
        })
        .map_err(|invalid| {
            let mut errors = FieldErrors::default();
            for field in invalid.0 {
                errors.push(
                    field.as_str(),
                    locale
                        .t(&format!("catalog.error.{}", field.as_str()))
                        .into_owned(),
                );
            }
            errors
        })
    }
}

/// A status pill: its catalog key and its CSS suffix.
fn badge(reward: &Reward) -> (&'static str, &'static str) {
    match reward.status {
        RewardStatus::Draft => ("catalog.status.draft", "pending"),
        RewardStatus::Published if reward.valid_until <= Utc::now() => {
            ("catalog.status.ended", "expired")
        }
        RewardStatus::Published => ("catalog.status.published", "active"),
        RewardStatus::Unpublished => ("catalog.status.unpublished", "suspended"),
    }
}

/// One reward as the list and the page header show it.
struct RewardView {
    id: RewardId,
    title: String,
    category: String,
    image: Option<String>,
    value: String,
    points_price: Option<String>,
    /// What else may pay, translated.
    pays: Vec<String>,
    stock: String,
    first_day: String,
    last_day: String,
    status_key: &'static str,
    status_css: &'static str,
    published: bool,
}

impl RewardView {
    fn of(reward: &Reward, locale: Locale) -> Self {
        let (status_key, status_css) = badge(reward);
        let pays = [
            (reward.other_points, "catalog.pay.other_points"),
            (reward.cash_topup, "catalog.pay.cash_topup"),
        ]
        .into_iter()
        .filter(|(yes, _)| *yes)
        .map(|(_, key)| locale.t(key).into_owned())
        .collect();
        Self {
            id: reward.id,
            title: reward.title(locale).to_owned(),
            category: locale.t(&reward.category().label_key()).into_owned(),
            image: reward.image_path.clone(),
            value: format::money(reward.value()),
            points_price: reward.points_price.map(format::count),
            pays,
            stock: format::count(reward.stock),
            first_day: reward.first_day().to_string(),
            last_day: reward.last_day().to_string(),
            status_key,
            status_css,
            published: reward.status == RewardStatus::Published,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/catalog.html")]
struct CatalogPage {
    chrome: Chrome,
    rewards: Vec<RewardView>,
    can_edit: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/reward.html")]
struct RewardPage {
    chrome: Chrome,
    /// None: a new reward.
    reward: Option<RewardView>,
    can_edit: bool,
    form: RewardForm,
    errors: FieldErrors,
    /// (value, label) of every category.
    categories: Vec<(&'static str, String)>,
    /// The merchant's active stores, to choose from.
    stores: Vec<Store>,
}

async fn reward_page(
    ctx: &PageContext,
    who: &MerchantPrincipal,
    state: &AppState,
    reward: Option<&Reward>,
    form: RewardForm,
    errors: FieldErrors,
) -> Result<RewardPage, WebError> {
    let merchant_id = who.merchant.id;
    let stores = state
        .db(move |conn| store::list(conn, merchant_id))
        .await?
        .into_iter()
        .filter(|s| s.active)
        .collect();
    Ok(RewardPage {
        chrome: super::chrome(ctx, who, LIST),
        reward: reward.map(|r| RewardView::of(r, ctx.locale)),
        can_edit: CATALOG_EDITORS.contains(&who.user.role),
        form,
        errors,
        categories: Category::ALL
            .into_iter()
            .map(|c| (c.as_str(), ctx.locale.t(&c.label_key()).into_owned()))
            .collect(),
        stores,
    })
}

/// The merchant's reward `id`; another merchant's is not found.
async fn own_reward(
    state: &AppState,
    who: &MerchantPrincipal,
    id: RewardId,
) -> Result<(Reward, Vec<StoreId>), WebError> {
    let merchant_id = who.merchant.id;
    state
        .db(move |conn| {
            let Some(reward) = catalog::find(conn, merchant_id, id)? else {
                return Ok(None);
            };
            let stores = catalog::stores_of(conn, merchant_id, id)?;
            Ok::<_, diesel::result::Error>(Some((reward, stores)))
        })
        .await?
        .ok_or(WebError::NotFound)
}

/// A refused save as the form's errors; a reward not there is the 404 page.
fn refusal(e: CatalogError, locale: Locale) -> Result<FieldErrors, WebError> {
    match e {
        CatalogError::ForeignStore(_) => Ok(FieldErrors::one(
            "stores",
            e.message(locale).unwrap_or_default(),
        )),
        CatalogError::NotFound => Err(WebError::NotFound),
        // Publishing and unpublishing refuse these; a save that met one
        // would be a bug.
        CatalogError::Expired | CatalogError::NotPublished | CatalogError::Database(_) => {
            Err(flash::system(e))
        }
    }
}

#[get("/catalog")]
async fn list_rewards(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<CatalogPage, WebError> {
    who.require(CATALOG_READERS)?;
    let merchant_id = who.merchant.id;
    let rewards = state
        .db(move |conn| catalog::of_merchant(conn, merchant_id))
        .await?;
    Ok(CatalogPage {
        chrome: super::chrome(&ctx, &who, LIST),
        rewards: rewards
            .iter()
            .map(|r| RewardView::of(r, ctx.locale))
            .collect(),
        can_edit: CATALOG_EDITORS.contains(&who.user.role),
    })
}

#[get("/catalog/new")]
async fn new_reward(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<RewardPage, WebError> {
    who.require(CATALOG_EDITORS)?;
    reward_page(
        &ctx,
        &who,
        &state,
        None,
        RewardForm::blank(),
        FieldErrors::default(),
    )
    .await
}

#[post("/catalog")]
async fn create_reward(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<RewardForm>,
) -> Result<HttpResponse, WebError> {
    who.require(CATALOG_EDITORS)?;
    let details = match form.parse(ctx.locale) {
        Ok(details) => details,
        Err(errors) => {
            return unprocessable(&reward_page(&ctx, &who, &state, None, form, errors).await?);
        }
    };
    let (actor, merchant_id, stores) = (who.actor.clone(), who.merchant.id, form.chosen_stores());
    let created = state
        .db(move |conn| {
            Ok::<_, diesel::result::Error>(catalog::create(
                conn,
                &actor,
                merchant_id,
                &details,
                &stores,
            ))
        })
        .await?;
    match created {
        Ok(reward) => {
            set_flash(&ctx.session, FlashKind::Success, "catalog.flash.created");
            Ok(see_other(reward_path(reward.id)))
        }
        Err(e) => {
            let errors = refusal(e, ctx.locale)?;
            unprocessable(&reward_page(&ctx, &who, &state, None, form, errors).await?)
        }
    }
}

#[get("/catalog/{id}")]
async fn show_reward(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<RewardId>,
) -> Result<RewardPage, WebError> {
    who.require(CATALOG_READERS)?;
    let (reward, stores) = own_reward(&state, &who, id.into_inner()).await?;
    let form = RewardForm::of(&reward, &stores);
    reward_page(
        &ctx,
        &who,
        &state,
        Some(&reward),
        form,
        FieldErrors::default(),
    )
    .await
}

#[post("/catalog/{id}")]
async fn edit_reward(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<RewardId>,
    CsrfForm(form): CsrfForm<RewardForm>,
) -> Result<HttpResponse, WebError> {
    who.require(CATALOG_EDITORS)?;
    let (reward, _) = own_reward(&state, &who, id.into_inner()).await?;
    let details = match form.parse(ctx.locale) {
        Ok(details) => details,
        Err(errors) => {
            return unprocessable(
                &reward_page(&ctx, &who, &state, Some(&reward), form, errors).await?,
            );
        }
    };
    let (actor, merchant_id, stores) = (who.actor.clone(), who.merchant.id, form.chosen_stores());
    let id = reward.id;
    let updated = state
        .db(move |conn| {
            Ok::<_, diesel::result::Error>(catalog::update(
                conn,
                &actor,
                merchant_id,
                id,
                &details,
                &stores,
            ))
        })
        .await?;
    match updated {
        Ok(_) => {
            set_flash(&ctx.session, FlashKind::Success, "catalog.flash.saved");
            Ok(see_other(reward_path(id)))
        }
        Err(e) => {
            let errors = refusal(e, ctx.locale)?;
            unprocessable(&reward_page(&ctx, &who, &state, Some(&reward), form, errors).await?)
        }
    }
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
}

#[post("/catalog/{id}/status")]
async fn set_reward_status(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<RewardId>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<HttpResponse, WebError> {
    who.require(CATALOG_EDITORS)?;
    let (status, done_key) = match form.status.as_str() {
        "published" => (RewardStatus::Published, "catalog.flash.published"),
        "unpublished" => (RewardStatus::Unpublished, "catalog.flash.unpublished"),
        _ => return Err(WebError::BadRequest),
    };
    let (id, actor, merchant_id) = (id.into_inner(), who.actor.clone(), who.merchant.id);
    let changed = state
        .db(move |conn| {
            flash::found(catalog::set_status(
                conn,
                &actor,
                merchant_id,
                id,
                status,
                Utc::now(),
            ))
        })
        .await?;
    match changed {
        Ok(_) => set_flash(&ctx.session, FlashKind::Success, done_key),
        // A stale page (another tab unpublished it already): nothing to do.
        Err(CatalogError::NotPublished) => {
            set_flash(&ctx.session, FlashKind::Info, "catalog.flash.not_published");
        }
        Err(e) => flash::refused_flash(&ctx.session, ctx.locale, e)?,
    }
    Ok(see_other(reward_path(id)))
}

#[post("/catalog/{id}/image")]
async fn upload_image(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<RewardId>,
    CsrfUpload(upload): CsrfUpload,
) -> Result<HttpResponse, WebError> {
    who.require(CATALOG_EDITORS)?;
    let (reward, store_ids) = own_reward(&state, &who, id.into_inner()).await?;
    let t = |key: &str| ctx.locale.t(key).into_owned();
    let stored = match upload {
        Upload::Empty => Err(t("catalog.error.image_missing")),
        Upload::TooLarge => Err(t("catalog.error.image_too_large")),
        Upload::Bytes(bytes) => {
            let (dir, reward_id) = (state.upload_dir.clone(), reward.id);
            let stored = web::block(move || image::store(&dir, reward_id, &bytes))
                .await
                .map_err(|e| WebError::Internal(e.into()))?;
            flash::refused(stored, ctx.locale)?
        }
    };
    let name = match stored {
        Ok(name) => name,
        Err(error) => {
            let errors = FieldErrors::one("file", error);
            let form = RewardForm::of(&reward, &store_ids);
            return unprocessable(
                &reward_page(&ctx, &who, &state, Some(&reward), form, errors).await?,
            );
        }
    };
    let (actor, merchant_id, id) = (who.actor.clone(), who.merchant.id, reward.id);
    let set = state
        .db(move |conn| flash::found(catalog::set_image(conn, &actor, merchant_id, id, &name)))
        .await?;
    flash::outcome(&ctx.session, ctx.locale, set, "catalog.flash.image")?;
    Ok(see_other(reward_path(id)))
}
