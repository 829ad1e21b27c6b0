//! The operators' home: the alliance at a glance.

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    approval::{self, Scope},
    ledger, merchant,
    people::member,
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        error::WebError,
        format,
        page::Chrome,
        state::AppState,
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_dashboard);
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    merchants: String,
    members: String,
    pending_approvals: i64,
    /// When the books were last proven, and whether they were clean.
    last_verify: Option<(String, bool)>,
}

#[get("")]
async fn show_dashboard(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<DashboardPage, WebError> {
    let (merchants, members, pending, last_verify) = state
        .db(|conn| {
            Ok::<_, WebError>((
                merchant::count_active(conn)?,
                member::count(conn)?,
                approval::count_pending(conn, Scope::Platform)?,
                ledger::last_verification(conn)?,
            ))
        })
        .await?;
    Ok(DashboardPage {
        chrome: super::chrome(&ctx, &who, "/platform"),
        merchants: format::count(merchants),
        members: format::count(members),
        pending_approvals: pending,
        last_verify: last_verify.map(|v| (format::datetime(v.finished_at, ctx.locale), v.clean)),
    })
}
