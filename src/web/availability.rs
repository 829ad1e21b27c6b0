//! The edge of the server's availability, as clients see it.
//!
//! - **Outages before a handler runs.** actix-session loads the session from the
//!   database before any handler; when the database is down that load fails as
//!   a bare 500. While the gate knows the database is down, a failed request is
//!   an outage: 503 with `Retry-After`, as a problem document under `/api/` and
//!   as the translated page elsewhere. (Handlers report outages themselves, as
//!   `WebError::Unavailable` and `ApiError::Unavailable`.)
//! - **Draining.** A server told to stop first drains: `/readyz` answers 503 so
//!   a load balancer sends no more, and every response closes its connection so
//!   no client sends a request on a connection the server is about to close.
//!   Requests in flight finish (see `startup::Application::run_until_stopped`).

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use actix_web::{
    Error, HttpRequest, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    error::InternalError,
    http::{ConnectionType, StatusCode, header::HeaderValue},
    middleware::Next,
    web,
};

use crate::{db::outage::RETRY_AFTER_SECONDS, i18n::Locale};

use super::{error::error_page_in, locale, state::AppState};

/// Set once the server has been told to stop.
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<AtomicBool>);

impl Drain {
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// How the part of the site under `path_prefix` words an outage in its own
/// language and format: the partner API answers with problem documents. The API
/// is built on top of `web`, so it hands its wording down to the guard.
#[derive(Debug, Clone, Copy)]
pub struct Wording {
    pub path_prefix: &'static str,
    pub locale: fn(&HttpRequest) -> Locale,
    pub unavailable: fn(Locale) -> HttpResponse,
}

/// The middleware; wraps the session middleware, so it sees its failures.
/// Requests under `other`'s prefix get its wording, the rest the portals'.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    other: Wording,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // What an outage answer needs, taken now: the request itself is the inner
    // service's until it answers, and gone if it fails.
    let theirs = req.path().starts_with(other.path_prefix);
    let locale = if theirs {
        (other.locale)(req.request())
    } else {
        locale::from_request(req.request())
    };
    let outage = || {
        if theirs {
            (other.unavailable)(locale)
        } else {
            error_page_in(
                locale,
                String::new(),
                StatusCode::SERVICE_UNAVAILABLE,
                Some(HeaderValue::from(RETRY_AFTER_SECONDS)),
            )
        }
    };
    let database_down = || state.as_ref().is_some_and(|s| s.gate.is_down());
    let mut res = match next.call(req).await {
        Ok(res) if res.status() == StatusCode::INTERNAL_SERVER_ERROR && database_down() => {
            let (request, _) = res.into_parts();
            ServiceResponse::new(request, outage()).map_into_right_body()
        }
        Ok(res) => res.map_into_left_body(),
        Err(_) if database_down() => {
            return Err(InternalError::from_response("database unavailable", outage()).into());
        }
        Err(e) => return Err(e),
    };
    if state.is_some_and(|s| s.drain.is_draining()) {
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}
