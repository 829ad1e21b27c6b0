//! "All my points": every program's balance, straight from the ledger, with its
//! value in CNY at the program's settlement value and the combined total.

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;

use std::collections::HashMap;

use crate::{
    domain::{
        money::{Money, Rounding},
        rate::Rate,
    },
    ledger, program,
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
    let (accounts, balances, names, programs) = state
        .db(move |conn| {
            let accounts = ledger::accounts_of(conn, "member", member_id)?;
            let ids: Vec<_> = accounts.iter().map(|a| a.id).collect();
            Ok::<_, WebError>((
                accounts,
                ledger::balances(conn, &ids)?,
                ledger::asset_names(conn)?,
                program::all(conn)?,
            ))
        })
        .await?;
    let values: HashMap<&str, Rate> = programs
        .iter()
        .filter_map(|p| Some((p.code.as_str(), Rate::new(p.settlement_value).ok()?)))
        .collect();
    let mut total = Money::ZERO;
    let mut rows = Vec::with_capacity(accounts.len());
    for a in &accounts {
        let balance = balances.get(&a.id).copied().unwrap_or_default();
        // Rounded down: a member is never shown more than the points are worth.
        let value = match values.get(a.asset.as_str()) {
            Some(rate) => Some(
                rate.value_of(balance.available(), Rounding::Down)
                    .map_err(|e| WebError::Internal(e.into()))?,
            ),
            None => None,
        };
        if let Some(value) = value {
            total = total
                .checked_add(value)
                .map_err(|e| WebError::Internal(e.into()))?;
        }
        rows.push(BalanceRow {
            program: names
                .get(&a.asset)
                .cloned()
                .unwrap_or_else(|| a.asset.clone()),
            code: a.asset.clone(),
            available: format::count(balance.available()),
            held: (balance.debits_pending > 0).then(|| format::count(balance.debits_pending)),
            value: value.map(format::money),
        });
    }
    Ok(HomePage {
        chrome: super::chrome(&ctx, &who, "/consumer"),
        name: who.member.display_name.clone(),
        balances: rows,
        total_value: format::money(total),
    })
}
