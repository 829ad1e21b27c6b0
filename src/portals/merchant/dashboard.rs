//! The merchant's home.

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    approval::{self, Scope},
    people::merchant_user,
    web::{
        auth::{MerchantPrincipal, Signed},
        context::PageContext,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_dashboard);
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    merchant_name: String,
    code: String,
    tier_label: String,
    status: String,
    status_label: String,
    staff: usize,
    pending_approvals: i64,
}

#[get("")]
async fn show_dashboard(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<DashboardPage, WebError> {
    let merchant_id = who.merchant.id;
    let (staff, pending) = state
        .db(move |conn| {
            Ok::<_, WebError>((
                merchant_user::list(conn, merchant_id)?.len(),
                approval::count_pending(conn, Scope::Merchant(merchant_id))?,
            ))
        })
        .await?;
    let m = &who.merchant;
    Ok(DashboardPage {
        chrome: super::chrome(&ctx, &who, "/merchant"),
        merchant_name: m.name(ctx.locale).to_owned(),
        code: m.code.clone(),
        tier_label: ctx
            .locale
            .t(&format!("merchant.tier.{}", m.tier))
            .into_owned(),
        status: m.status.clone(),
        status_label: ctx.locale.t(&format!("status.{}", m.status)).into_owned(),
        staff,
        pending_approvals: pending,
    })
}
