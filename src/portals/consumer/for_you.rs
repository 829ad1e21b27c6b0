//! For you (为你推荐): rewards ranked for the member (`redemption::recommend`),
//! each with the reasons it is there; nearer ones count when they say where
//! they are.

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;

use crate::{
    program,
    redemption::recommend,
    web::{
        auth::{MemberPrincipal, Signed},
        context::PageContext,
        error::WebError,
        flash,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    location::{self, LocationQuery, Picker},
    rewards::{Card, Names, card},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_for_you);
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/for_you.html")]
struct ForYouPage {
    chrome: Chrome,
    picker: Picker,
    cards: Vec<Card>,
}

#[get("/for-you")]
#[tracing::instrument(skip_all)]
async fn show_for_you(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<LocationQuery>,
) -> Result<ForYouPage, WebError> {
    let locale = ctx.locale;
    let located = query.locate();
    // A bad location is reported and ignored: the other reasons still rank.
    let here = located.as_ref().ok().copied().flatten().map(|l| l.point);
    let member_id = who.member.id;
    let (recommended, programs) = state
        .db(move |conn| {
            let recommended =
                recommend::for_member(conn, member_id, here, Utc::now()).map_err(flash::system)?;
            Ok::<_, WebError>((recommended, program::all(conn)?))
        })
        .await?;
    let names = Names::new(&programs, locale);
    Ok(ForYouPage {
        chrome: super::chrome(&ctx, &who, "/consumer/rewards"),
        picker: location::picker("/consumer/for-you", &located, locale),
        cards: recommended
            .iter()
            .map(|r| Card {
                distance: r.distance_m.map(|d| location::distance(d, locale)),
                reasons: r
                    .scored
                    .reasons
                    .iter()
                    .map(|reason| locale.t(reason.label_key()).into_owned())
                    .collect(),
                ..card(&r.offered, &names, locale)
            })
            .collect(),
    })
}
