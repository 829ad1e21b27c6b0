//! The platform's approvals queue (`Scope::Platform`): any signed-in operator
//! sees it; who may decide a request is the request's approver roles. The
//! pages and the decision are `portals::approval_queue`.

use actix_web::{HttpResponse, get, post, web};

use crate::{
    approval::Scope,
    web::{
        auth::{OperatorPrincipal, Signed},
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

fn queue() -> Queue {
    Queue {
        scope: Scope::Platform,
        base: "/platform/approvals",
        nav: "platform.nav.approvals",
        title: "platform.approvals.title",
        subtitle: "platform.approvals.subtitle",
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
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<ListPage, WebError> {
    let queue = queue();
    let chrome = super::chrome(&ctx, &who, queue.base);
    queue
        .list(&state, chrome, query.into_inner(), ctx.locale)
        .await
}

#[get("/approvals/{id}")]
async fn show_approval(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<DetailPage, WebError> {
    let queue = queue();
    let chrome = super::chrome(&ctx, &who, queue.base);
    queue
        .detail(&state, chrome, id.into_inner(), &who.actor, ctx.locale)
        .await
}

#[post("/approvals/{id}/decision")]
async fn decide_approval(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<HttpResponse, WebError> {
    let (queue, id) = (queue(), id.into_inner());
    if let Some(decided) = queue.decide(&ctx, &state, id, &who.actor, form).await? {
        super::applications::after_decision(&state, &decided).await;
    }
    Ok(see_other(queue.link(id)))
}
