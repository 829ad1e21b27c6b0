//! `CsrfForm<T>`: a URL-encoded form that is only accepted with the session's
//! CSRF token in its `csrf_token` field. Every state-changing form uses it.

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web::Bytes};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, de::DeserializeOwned};

use crate::crypto::constant_time_eq;

use super::{error::WebError, nul, session};

/// Form bodies larger than this are refused before parsing.
const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// A form with nothing but its CSRF token: a button that posts.
#[derive(Debug, serde::Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct Token {
    csrf_token: Option<String>,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let expected = req
            .get_session()
            .get::<String>(session::CSRF)
            .ok()
            .flatten();
        let body = Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|_| WebError::BadRequest)?;
            if body.len() > MAX_FORM_BYTES || nul::in_urlencoded(&body) {
                return Err(WebError::BadRequest);
            }
            let sent = serde_urlencoded::from_bytes::<Token>(&body)
                .ok()
                .and_then(|t| t.csrf_token);
            match (expected, sent) {
                (Some(expected), Some(sent))
                    if constant_time_eq(expected.as_bytes(), sent.as_bytes()) => {}
                _ => return Err(WebError::CsrfRejected),
            }
            serde_urlencoded::from_bytes(&body)
                .map(CsrfForm)
                .map_err(|_| WebError::BadRequest)
        })
    }
}
