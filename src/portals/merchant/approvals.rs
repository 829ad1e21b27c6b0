//! The merchant's own approvals (maker-checker in `Scope::Merchant`): large
//! point adjustments wait here for a second owner or manager. The pages and
//! the decision are `portals::approval_queue`, as on the platform.

use actix_web::{HttpResponse, get, post, web};

use crate::{
    approval::Scope,
    people::merchant_user::MerchantRole,
    web::{
        auth::{MerchantPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        error::WebError,
        state::AppState,
    },
};

use super::super::{
    approval_queue::{DecisionForm, DetailPage, ListPage, ListQuery, Queue},
    see_other,
};

/// Who sees and decides the merchant's approvals.
pub(super) const CHECKERS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];

/// The signed-in merchant's queue; `approval::get` and `approval::decide`
/// find nothing of another merchant's in it.
fn queue(who: &MerchantPrincipal) -> Queue {
    Queue {
        scope: Scope::Merchant(who.merchant.id),
        base: "/merchant/approvals",
        nav: "earning_portals.nav.approvals",
        title: "earning_portals.approvals.title",
        subtitle: "earning_portals.approvals.subtitle",
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_approvals)
        .service(show_approval)
        .service(decide_approval);
}

#[get("/approvals")]
async fn list_approvals(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<ListPage, WebError> {
    who.require(CHECKERS)?;
    let queue = queue(&who);
    let chrome = super::chrome(&ctx, &who, queue.base);
    queue
        .list(&state, chrome, query.into_inner(), ctx.locale)
        .await
}

#[get("/approvals/{id}")]
async fn show_approval(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<DetailPage, WebError> {
    who.require(CHECKERS)?;
    let queue = queue(&who);
    let chrome = super::chrome(&ctx, &who, queue.base);
    queue
        .detail(&state, chrome, id.into_inner(), &who.actor, ctx.locale)
        .await
}

#[post("/approvals/{id}/decision")]
async fn decide_approval(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<HttpResponse, WebError> {
    who.require(CHECKERS)?;
    let (queue, id) = (queue(&who), id.into_inner());
    queue.decide(&ctx, &state, id, &who.actor, form).await?;
    Ok(see_other(queue.link(id)))
}
