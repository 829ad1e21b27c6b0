//! The one error type HTTP handlers return: it maps to a status code and logs the
//! cause chain, while the person sees only a short, safe message.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let cause = match self {
            Self::Unavailable(e) | Self::Internal(e) => e,
        };
        tracing::error!(error = format!("{cause:#}"), status = %self.status_code(), "request failed");
        HttpResponse::build(self.status_code()).json(serde_json::json!({
            "status": self.status_code().as_u16(),
            "title": self.to_string(),
        }))
    }
}
