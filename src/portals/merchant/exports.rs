//! A merchant's exports (`/merchant/exports`): owners and managers see the
//! exports any of the merchant's users asked for; a cashier only their own,
//! never a report (see `export`).

use actix_web::{HttpResponse, get, web};

use crate::{
    export::Requester,
    web::{
        auth::{MerchantPrincipal, Signed},
        context::PageContext,
        error::WebError,
        state::AppState,
    },
};

use crate::portals::exports::{self, ExportPage, ExportsPage};

const BASE: &str = "/merchant";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_exports)
        .service(show_export)
        .service(download_export);
}

pub(super) fn requester(who: &MerchantPrincipal) -> Requester {
    Requester::MerchantUser {
        merchant_id: who.merchant.id,
        user_id: who.user.id,
        reads_reports: super::reports::REPORT_READERS.contains(&who.user.role),
    }
}

#[get("/exports")]
async fn list_exports(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<ExportsPage, WebError> {
    let chrome = super::chrome(&ctx, &who, "/merchant/exports");
    exports::list_page(&state, chrome, BASE, requester(&who)).await
}

#[get("/exports/{id:\\d+}")]
async fn show_export(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<ExportPage, WebError> {
    let chrome = super::chrome(&ctx, &who, "/merchant/exports");
    exports::detail_page(&state, chrome, BASE, requester(&who), id.into_inner()).await
}

#[get("/exports/{id:\\d+}/download")]
async fn download_export(
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    exports::download(&state, requester(&who), id.into_inner()).await
}
