//! Errors of the HTML portals. A handler returns a `WebError`; the person gets a
//! translated error page (rendered by `render_error_page`, which knows the
//! request's language) and the cause goes to the log, never to the page.

use actix_web::{
    HttpRequest, HttpResponse, ResponseError,
    body::{BoxBody, MessageBody},
    dev::ServiceResponse,
    http::{StatusCode, header},
    middleware::ErrorHandlerResponse,
};
use askama::Template;

use crate::{
    db::{Outage, outage},
    domain::portal::Portal,
    i18n::Locale,
};

use super::{locale, page::Chrome, session};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("the form was not sent by this site")]
    CsrfRejected,
    #[error("sign-in required")]
    SignInRequired { portal: Portal, next: String },
    #[error("bad request")]
    BadRequest,
    #[error(transparent)]
    Unavailable(#[from] Outage),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// What `/readyz` answers when the server cannot take traffic: a status and a
/// short title, the cause logged.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let Self::Unavailable(cause) = self;
        tracing::error!(error = format!("{cause:#}"), status = %self.status_code(), "request failed");
        HttpResponse::build(self.status_code()).json(serde_json::json!({
            "status": self.status_code().as_u16(),
            "title": self.to_string(),
        }))
    }
}

impl From<diesel::result::Error> for WebError {
    fn from(e: diesel::result::Error) -> Self {
        match Outage::of_error(&e) {
            Some(outage) => Self::Unavailable(outage),
            None => Self::Internal(e.into()),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden | Self::CsrfRejected => StatusCode::FORBIDDEN,
            Self::SignInRequired { .. } => StatusCode::SEE_OTHER,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        match self {
            Self::SignInRequired { portal, next } => {
                let target = format!("/{}/sign-in?next={}", portal.slug(), urlencode(next));
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, target))
                    .finish();
            }
            Self::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
            }
            Self::Unavailable(_) => return unavailable(),
            _ => {}
        }
        // Plain text here; `render_error_page` turns it into the translated page.
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.to_string())
    }
}

/// 503 with `Retry-After`, in plain text for `render_error_page` to dress.
pub fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, outage::RETRY_AFTER_SECONDS.to_string()))
        .content_type("text/plain; charset=utf-8")
        .body("service unavailable")
}

/// The translated page for `status`, keeping the `Retry-After` it came with.
pub fn error_page(
    req: &HttpRequest,
    status: StatusCode,
    retry_after: Option<header::HeaderValue>,
) -> HttpResponse {
    let csrf_token = actix_session::SessionExt::get_session(req)
        .get::<String>(session::CSRF)
        .ok()
        .flatten()
        .unwrap_or_default();
    error_page_in(locale::from_request(req), csrf_token, status, retry_after)
}

/// The page for `status` in `locale`, for when the request is no longer at
/// hand (its forms carry `csrf_token`).
pub fn error_page_in(
    locale: Locale,
    csrf_token: String,
    status: StatusCode,
    retry_after: Option<header::HeaderValue>,
) -> HttpResponse {
    let (title_key, text_key) = match status {
        StatusCode::NOT_FOUND => ("error.not_found.title", "error.not_found.text"),
        StatusCode::FORBIDDEN => ("error.forbidden.title", "error.forbidden.text"),
        StatusCode::TOO_MANY_REQUESTS => ("error.too_many.title", "error.too_many.text"),
        StatusCode::SERVICE_UNAVAILABLE => ("error.unavailable.title", "error.unavailable.text"),
        s if s.is_client_error() => ("error.bad_request.title", "error.bad_request.text"),
        _ => ("error.internal.title", "error.internal.text"),
    };
    let page = ErrorPage {
        chrome: Chrome {
            locale,
            portal: None,
            csrf_token,
            path: "/".to_owned(),
            user: None,
            nav: Vec::new(),
            flash: None,
        },
        status: status.as_u16(),
        title_key,
        text_key,
    };
    let body = page.render().unwrap_or_else(|_| status.to_string());
    let mut response = HttpResponse::build(status);
    if let Some(retry_after) = retry_after {
        response.insert_header((header::RETRY_AFTER, retry_after));
    }
    response.content_type("text/html; charset=utf-8").body(body)
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|s| s[1..].to_owned())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    status: u16,
    title_key: &'static str,
    text_key: &'static str,
}

/// Replaces a bare error response with a page in the visitor's language; pages a
/// handler already rendered (a form with its errors) pass through untouched.
pub fn render_error_page<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let status = res.status();
    let (req, _) = res.into_parts();
    let response = error_page(&req, status, retry_after);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}
