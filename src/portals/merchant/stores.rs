//! The merchant's stores: the owner and managers add them, correct them, and
//! deactivate the ones that close. Another merchant's store id is not found.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    domain::id::StoreId,
    i18n::Locale,
    merchant::store::{self, Store, StoreDetails, StoreField},
    people::merchant_user::MerchantRole,
    web::{
        auth::{MerchantPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::{
    super::see_other,
    form::{FieldErrors, unprocessable},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_stores)
        .service(add_store)
        .service(show_store)
        .service(edit_store)
        .service(set_store_active);
}

/// Who keeps the store list.
pub const STORE_KEEPERS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];
const LIST: &str = "/merchant/stores";

#[derive(Debug, Default, Deserialize)]
struct StoreForm {
    name: String,
    address: String,
    latitude: String,
    longitude: String,
}

impl StoreForm {
    fn of(store: &Store) -> Self {
        Self {
            name: store.name.clone(),
            address: store.address.clone(),
            latitude: store.latitude.normalize().to_string(),
            longitude: store.longitude.normalize().to_string(),
        }
    }

    fn parse(&self, locale: Locale) -> Result<StoreDetails, FieldErrors> {
        StoreDetails::parse(&self.name, &self.address, &self.latitude, &self.longitude).map_err(
            |invalid| {
                let mut errors = FieldErrors::default();
                for field in invalid.0 {
                    let key = match field {
                        StoreField::Name => "merchant_admin.store.error.name",
                        StoreField::Address => "merchant_admin.store.error.address",
                        StoreField::Latitude => "merchant_admin.store.error.latitude",
                        StoreField::Longitude => "merchant_admin.store.error.longitude",
                    };
                    errors.push(field.as_str(), locale.t(key).into_owned());
                }
                errors
            },
        )
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/stores.html")]
struct StoresPage {
    chrome: Chrome,
    stores: Vec<Store>,
    form: StoreForm,
    errors: FieldErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/store.html")]
struct StorePage {
    chrome: Chrome,
    store: Store,
    form: StoreForm,
    errors: FieldErrors,
}

async fn stores_page(
    ctx: &PageContext,
    who: &MerchantPrincipal,
    state: &AppState,
    form: StoreForm,
    errors: FieldErrors,
) -> Result<StoresPage, WebError> {
    let merchant_id = who.merchant.id;
    Ok(StoresPage {
        chrome: super::chrome(ctx, who, LIST),
        stores: state.db(move |conn| store::list(conn, merchant_id)).await?,
        form,
        errors,
    })
}

/// The merchant's store `id`; another merchant's is not found.
async fn own_store(
    state: &AppState,
    who: &MerchantPrincipal,
    id: StoreId,
) -> Result<Store, WebError> {
    let merchant_id = who.merchant.id;
    state
        .db(move |conn| store::find(conn, merchant_id, id))
        .await?
        .ok_or(WebError::NotFound)
}

#[get("/stores")]
async fn list_stores(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<StoresPage, WebError> {
    who.require(STORE_KEEPERS)?;
    stores_page(
        &ctx,
        &who,
        &state,
        StoreForm::default(),
        FieldErrors::default(),
    )
    .await
}

#[post("/stores")]
async fn add_store(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<StoreForm>,
) -> Result<HttpResponse, WebError> {
    who.require(STORE_KEEPERS)?;
    let details = match form.parse(ctx.locale) {
        Ok(details) => details,
        Err(errors) => return unprocessable(&stores_page(&ctx, &who, &state, form, errors).await?),
    };
    let (actor, merchant_id) = (who.actor.clone(), who.merchant.id);
    state
        .db(move |conn| store::add(conn, &actor, merchant_id, &details))
        .await?;
    set_flash(
        &ctx.session,
        FlashKind::Success,
        "merchant_admin.store.added",
    );
    Ok(see_other(LIST))
}

#[get("/stores/{id}")]
async fn show_store(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<StoreId>,
) -> Result<StorePage, WebError> {
    who.require(STORE_KEEPERS)?;
    let store = own_store(&state, &who, id.into_inner()).await?;
    Ok(StorePage {
        chrome: super::chrome(&ctx, &who, LIST),
        form: StoreForm::of(&store),
        store,
        errors: FieldErrors::default(),
    })
}

#[post("/stores/{id}")]
async fn edit_store(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<StoreId>,
    CsrfForm(form): CsrfForm<StoreForm>,
) -> Result<HttpResponse, WebError> {
    who.require(STORE_KEEPERS)?;
    let store = own_store(&state, &who, id.into_inner()).await?;
    let details = match form.parse(ctx.locale) {
        Ok(details) => details,
        Err(errors) => {
            return unprocessable(&StorePage {
                chrome: super::chrome(&ctx, &who, LIST),
                store,
                form,
                errors,
            });
        }
    };
    let (actor, merchant_id) = (who.actor.clone(), who.merchant.id);
    state
        .db(move |conn| store::edit(conn, &actor, merchant_id, store.id, &details))
        .await?
        .ok_or(WebError::NotFound)?;
    set_flash(
        &ctx.session,
        FlashKind::Success,
        "merchant_admin.store.saved",
    );
    Ok(see_other(LIST))
}

#[derive(Deserialize)]
struct ActiveForm {
    active: bool,
}

#[post("/stores/{id}/active")]
async fn set_store_active(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<StoreId>,
    CsrfForm(form): CsrfForm<ActiveForm>,
) -> Result<HttpResponse, WebError> {
    who.require(STORE_KEEPERS)?;
    let (id, actor, merchant_id) = (id.into_inner(), who.actor.clone(), who.merchant.id);
    state
        .db(move |conn| store::set_active(conn, &actor, merchant_id, id, form.active))
        .await?
        .ok_or(WebError::NotFound)?;
    let key = if form.active {
        "merchant_admin.store.activated"
    } else {
        "merchant_admin.store.deactivated"
    };
    set_flash(&ctx.session, FlashKind::Success, key);
    Ok(see_other(LIST))
}
