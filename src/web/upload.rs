//! `CsrfUpload`: a multipart form carrying one file, accepted only with the
//! session's CSRF token in its `csrf_token` field. A file form cannot go
//! through `CsrfForm`, which reads URL-encoded bodies; the check is the same.

use actix_multipart::Multipart;
use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use futures_util::{StreamExt as _, future::LocalBoxFuture};

use crate::{catalog::image::MAX_IMAGE_BYTES, crypto::constant_time_eq};

use super::{error::WebError, session};

/// The largest file a form accepts; anything bigger is only drained (so the
/// browser gets the page explaining the limit rather than a reset connection)
/// up to `MAX_DRAINED_BYTES`, after which the request is refused outright.
const MAX_FILE_BYTES: usize = MAX_IMAGE_BYTES;
const MAX_DRAINED_BYTES: usize = 16 * 1024 * 1024;
/// A token is 43 characters; anything longer is not one.
const MAX_TOKEN_BYTES: usize = 256;

/// The file sent in a form's `file` field.
#[derive(Debug)]
pub enum Upload {
    /// No file was chosen.
    Empty,
    /// Larger than the limit; its bytes were not kept.
    TooLarge,
    Bytes(Vec<u8>),
}

#[derive(Debug)]
pub struct CsrfUpload(pub Upload);

impl FromRequest for CsrfUpload {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let expected = req
            .get_session()
            .get::<String>(session::CSRF)
            .ok()
            .flatten();
        let mut multipart = Multipart::new(req.headers(), payload.take());
        Box::pin(async move {
            let mut token = Vec::new();
            let mut upload = Upload::Empty;
            let mut drained = 0;
            while let Some(field) = multipart.next().await {
                let mut field = field.map_err(|_| WebError::BadRequest)?;
                let name = field.name().unwrap_or_default().to_owned();
                let mut kept = Vec::new();
                let mut over = false;
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|_| WebError::BadRequest)?;
                    drained += chunk.len();
                    if drained > MAX_DRAINED_BYTES {
                        return Err(WebError::BadRequest);
                    }
                    let limit = match name.as_str() {
                        "csrf_token" => MAX_TOKEN_BYTES,
                        "file" => MAX_FILE_BYTES,
                        _ => 0,
                    };
                    if kept.len() + chunk.len() > limit {
                        over = true;
                        kept = Vec::new();
                    } else if !over {
                        kept.extend_from_slice(&chunk);
                    }
                }
                match name.as_str() {
                    "csrf_token" => token = kept,
                    "file" if over => upload = Upload::TooLarge,
                    "file" if !kept.is_empty() => upload = Upload::Bytes(kept),
                    _ => {}
                }
            }
            match expected {
                Some(expected) if constant_time_eq(expected.as_bytes(), &token) => {
                    Ok(CsrfUpload(upload))
                }
                _ => Err(WebError::CsrfRejected),
            }
        })
    }
}
