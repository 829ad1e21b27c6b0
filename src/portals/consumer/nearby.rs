//! Nearby (附近): the stores and rewards within 3 km of where the member is
//! (a shared position or a district they picked), nearest first.

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;

use crate::{
    program,
    redemption::nearby,
    web::{
        auth::{MemberPrincipal, Signed},
        context::PageContext,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    location::{self, LocationQuery, Picker},
    rewards::{Card, Names, card},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_nearby);
}

/// A store in reach, as listed.
struct StoreLine {
    name: String,
    merchant: String,
    address: String,
    distance: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/nearby.html")]
struct NearbyPage {
    chrome: Chrome,
    picker: Picker,
    /// Whether a place was given (and so the lists mean something).
    located: bool,
    stores: Vec<StoreLine>,
    cards: Vec<Card>,
    /// The "for you" page from the same place.
    for_you_href: String,
}

#[get("/nearby")]
#[tracing::instrument(skip_all)]
async fn show_nearby(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<LocationQuery>,
) -> Result<NearbyPage, WebError> {
    let locale = ctx.locale;
    let located = query.locate();
    let here = located.as_ref().ok().copied().flatten();
    let (stores, rewards, programs) = match here {
        Some(here) => {
            let point = here.point;
            state
                .db(move |conn| {
                    Ok::<_, WebError>((
                        nearby::stores(conn, point)?,
                        nearby::rewards(conn, point, Utc::now())?,
                        program::all(conn)?,
                    ))
                })
                .await?
        }
        None => Default::default(),
    };
    let names = Names::new(&programs, locale);
    Ok(NearbyPage {
        chrome: super::chrome(&ctx, &who, "/consumer/nearby"),
        picker: location::picker("/consumer/nearby", &located, locale),
        located: here.is_some(),
        stores: stores
            .iter()
            .map(|store| StoreLine {
                name: store.name.clone(),
                merchant: store.merchant_name(locale).to_owned(),
                address: store.address.clone(),
                distance: location::distance(store.distance_m, locale),
            })
            .collect(),
        cards: rewards
            .iter()
            .map(|near| Card {
                distance: Some(location::distance(near.distance_m, locale)),
                ..card(&near.offered, &names, locale)
            })
            .collect(),
        for_you_href: match here {
            Some(here) => format!("/consumer/for-you?{}", here.query()),
            None => "/consumer/for-you".to_owned(),
        },
    })
}
