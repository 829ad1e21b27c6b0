//! "All my points": every program's balance, straight from the ledger.

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    ledger,
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
}

#[derive(Template, WebTemplate)]
#[template(path = "consumer/home.html")]
struct HomePage {
    chrome: Chrome,
    name: String,
    balances: Vec<BalanceRow>,
}

#[get("")]
async fn show_home(
    ctx: PageContext,
    who: Signed<MemberPrincipal>,
    state: web::Data<AppState>,
) -> Result<HomePage, WebError> {
    let member_id = who.member.id;
    let (accounts, balances, names) = state
        .db(move |conn| {
            let accounts = ledger::accounts_of(conn, "member", member_id)?;
            let ids: Vec<_> = accounts.iter().map(|a| a.id).collect();
            Ok::<_, WebError>((
                accounts,
                ledger::balances(conn, &ids)?,
                ledger::asset_names(conn)?,
            ))
        })
        .await?;
    let balances = accounts
        .iter()
        .map(|a| {
            let balance = balances.get(&a.id).copied().unwrap_or_default();
            BalanceRow {
                program: names
                    .get(&a.asset)
                    .cloned()
                    .unwrap_or_else(|| a.asset.clone()),
                code: a.asset.clone(),
                available: format::count(balance.available()),
                held: (balance.debits_pending > 0).then(|| format::count(balance.debits_pending)),
            }
        })
        .collect();
    Ok(HomePage {
        chrome: super::chrome(&ctx, &who, "/consumer"),
        name: who.member.display_name.clone(),
        balances,
    })
}
