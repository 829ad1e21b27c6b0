//! "All my points": the member's wallet (see `crate::wallet`) as a page.

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    wallet,
    web::{
        auth::{MemberPrincipal, Signed},
        context::PageContext,
        error::WebError,
        format,
        page::Chrome,
        state::AppState,
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_home);
}

pub struct BalanceRow {
    pub program: String,
    pub code: String,
    pub available: String,
    /// Points held by open redemptions.
    pub held: Option<String>,
    /// What the available points are worth; None where no settlement value is
    /// agreed (the hub points).
    pub value: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/home.html")]
struct HomePage {
    chrome: Chrome,
    name: String,
    balances: Vec<BalanceRow>,
    total_value: String,
}

#[get("")]
async fn show_home(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
) -> Result<HomePage, WebError> {
    let member_id = who.member.id;
    let wallet = state
        .db(move |conn| {
            wallet::of_member(conn, member_id).map_err(|e| WebError::Internal(e.into()))
        })
        .await?;
    let rows = wallet
        .balances
        .into_iter()
        .map(|b| BalanceRow {
            program: b.name,
            code: b.code,
            available: format::count(b.available),
            held: (b.held > 0).then(|| format::count(b.held)),
            value: b.value.map(format::money),
        })
        .collect();
    Ok(HomePage {
        chrome: super::chrome(&ctx, &who, "/consumer"),
        name: who.member.display_name.clone(),
        balances: rows,
        total_value: format::money(wallet.total_value),
    })
}
