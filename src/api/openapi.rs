//! The OpenAPI 3 document of the partner API, served unsigned at
//! `/api/v1/openapi.json`. Its paths are collected from the very routes the
//! server registers (`super::routes`, through utoipa-actix-web, which accepts
//! only documented handlers), so the document and the server cannot drift.

use std::sync::OnceLock;

use actix_web::{App, HttpResponse, get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, SecurityScheme},
};
use utoipa_actix_web::AppExt as _;

use super::problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Alliance partner API",
        version = "1",
        description = "积分联盟清算中心 partner API. Every request except this document is \
            signed: send `X-Alliance-Key` (the key id), `X-Alliance-Timestamp` (Unix seconds, \
            within 300 s of the server's clock), `X-Alliance-Nonce` (8–128 visible ASCII \
            characters, never reused within 10 minutes for the key) and \
            `X-Alliance-Signature`: the lowercase hex HMAC-SHA256, keyed with the secret's \
            UTF-8 bytes, of `METHOD\\nPATH_WITH_QUERY\\nTIMESTAMP\\nNONCE\\nHEX_SHA256_OF_BODY`. \
            Every POST needs an `Idempotency-Key`. Amounts are strings (CNY `\"12.50\"`, \
            points `\"1200\"`); times are RFC 3339 UTC; errors are RFC 7807 problems \
            (`application/problem+json`) in the language of `Accept-Language` (zh-CN or en). \
            Requests are limited per key and minute (429 with `Retry-After`)."
    ),
    components(schemas(Problem)),
    modifiers(&Signature)
)]
struct Document;

/// Declares the signature as the security scheme operations refer to.
struct Signature;

impl Modify for Signature {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "signature",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "X-Alliance-Key",
                    "The key id; the request also carries X-Alliance-Timestamp, \
                     X-Alliance-Nonce and X-Alliance-Signature (see the description above).",
                ))),
            );
    }
}

/// The document, built once from the routes.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, paths) = App::new()
            .into_utoipa_app()
            .configure(super::routes)
            .split_for_parts();
        Document::openapi().merge_from(paths)
    })
}

/// This document.
#[utoipa::path(
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document of this API", content_type = "application/json")),
    security(())
)]
#[get("/api/v1/openapi.json")]
pub(super) async fn show_openapi() -> HttpResponse {
    HttpResponse::Ok().json(document())
}
