//! Errors of the partner API as RFC 7807 problems (`application/problem+json`):
//! `type`, `title`, `status`, `detail`, and `errors: [{field, message}]` for
//! validation. Titles and details are translated (`Accept-Language`, Chinese by
//! default); causes of internal errors go to the log, never to the client.

use actix_web::{
    HttpRequest, HttpResponse, ResponseError,
    body::BoxBody,
    http::{StatusCode, header},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    db::{Outage, outage},
    error::{Class, Classify, Kind, Refusal},
    i18n::Locale,
    web::availability::Wording,
};

pub const CONTENT_TYPE: &str = "application/problem+json";
/// Problem types are URNs: they name the kind of problem without promising a
/// page behind it.
const TYPE_PREFIX: &str = "urn:alliance:problem:";

/// An RFC 7807 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:alliance:problem:<slug>`, stable for clients to branch on.
    #[serde(rename = "type")]
    #[schema(example = "urn:alliance:problem:signature_invalid")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// What was wrong with each field (validation problems only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// Why a field was refused; translated when the problem is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldReason {
    Required,
    Phone,
    Name,
    Amount,
    OrderId,
    Time,
    Program,
    Id,
    Points,
    Date,
    DateRange,
}

impl FieldReason {
    fn key(self) -> &'static str {
        match self {
            Self::Required => "api.field.required",
            Self::Phone => "api.field.phone",
            Self::Name => "api.field.name",
            Self::Amount => "api.field.amount",
            Self::OrderId => "api.field.order_id",
            Self::Time => "api.field.time",
            Self::Program => "api.field.program",
            Self::Id => "api.field.id",
            Self::Points => "api.field.points",
            Self::Date => "api.field.date",
            Self::DateRange => "api.field.date_range",
        }
    }
}

/// Why the signature check refused a request. All of them are 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFailure {
    /// A signature header is missing or malformed.
    Missing,
    /// The timestamp is too far from the server's clock.
    Stale,
    /// The nonce was already used with this key.
    Replayed,
    /// Unknown or revoked key, a merchant without API access, or a signature
    /// that does not match: indistinguishable on purpose.
    Invalid,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("signature refused: {0:?}")]
    Unauthorized(SignatureFailure),
    #[error("the member is not one this merchant knows")]
    MemberNotKnown,
    #[error("not found")]
    NotFound,
    #[error("the body is not the JSON this operation takes")]
    MalformedBody,
    #[error("the body is too large")]
    BodyTooLarge,
    /// A NUL character in the path, query or body: nothing can store it, so
    /// the request can never succeed as sent (422, not a 5xx to retry).
    #[error("the request contains a NUL character")]
    NulCharacter,
    #[error("invalid fields: {0:?}")]
    Invalid(Vec<(&'static str, FieldReason)>),
    /// The query string of a GET is wrong: a malformed request (400), unlike a
    /// body whose fields a domain service refused (422).
    #[error("invalid query parameters: {0:?}")]
    InvalidQuery(Vec<(&'static str, FieldReason)>),
    #[error("Idempotency-Key is missing or not 1-64 printable ASCII")]
    IdempotencyKeyRequired,
    #[error("the Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("rate limit reached; retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    /// A domain service refused the request (see `crate::error`).
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Unavailable(#[from] Outage),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The one adapter from a service error to a problem: a refusal keeps its
/// slug, status and message; a failure of the system is a 500 whose cause is
/// logged (a 503 when it is the database's outage).
impl<E: Classify + Send + Sync + 'static> From<E> for ApiError {
    fn from(error: E) -> Self {
        match error.class() {
            Class::Refusal(refusal) => Self::Refused(refusal),
            Class::System => {
                let outage = std::iter::successors(
                    Some(&error as &(dyn std::error::Error + 'static)),
                    |e| e.source(),
                )
                .find_map(|e| e.downcast_ref().and_then(Outage::of_error));
                match outage {
                    Some(outage) => Self::Unavailable(outage),
                    None => Self::Internal(error.into()),
                }
            }
        }
    }
}

/// The status a refusal of its kind answers.
fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl ApiError {
    /// One invalid field.
    pub fn invalid(field: &'static str, reason: FieldReason) -> Self {
        Self::Invalid(vec![(field, reason)])
    }

    fn slug(&self) -> &'static str {
        match self {
            Self::Unauthorized(SignatureFailure::Missing) => "signature_missing",
            Self::Unauthorized(SignatureFailure::Stale) => "timestamp_stale",
            Self::Unauthorized(SignatureFailure::Replayed) => "nonce_replayed",
            Self::Unauthorized(SignatureFailure::Invalid) => "signature_invalid",
            Self::MemberNotKnown => "member_not_known",
            Self::NotFound => "not_found",
            Self::MalformedBody => "malformed_body",
            Self::BodyTooLarge => "body_too_large",
            Self::NulCharacter => "nul_character",
            Self::Invalid(_) => "validation_failed",
            Self::InvalidQuery(_) => "invalid_query",
            Self::IdempotencyKeyRequired => "idempotency_key_required",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::RateLimited { .. } => "rate_limited",
            Self::Refused(refusal) => refusal.slug,
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::MemberNotKnown => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MalformedBody | Self::IdempotencyKeyRequired | Self::InvalidQuery(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Invalid(_) | Self::NulCharacter => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyKeyReused => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Refused(refusal) => status_of(refusal.kind),
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document in `locale`.
    pub fn problem(&self, locale: Locale) -> Problem {
        let slug = self.slug();
        let (title, detail) = match self {
            Self::Refused(refusal) => (
                locale.t("api.problem.refused.title").into_owned(),
                refusal.message.render(locale),
            ),
            Self::RateLimited {
                retry_after_seconds,
            } => (
                locale.t("api.problem.rate_limited.title").into_owned(),
                locale.t_with(
                    "api.problem.rate_limited.detail",
                    &[("seconds", &retry_after_seconds.to_string())],
                ),
            ),
            _ => (
                locale.t(&format!("api.problem.{slug}.title")).into_owned(),
                locale.t(&format!("api.problem.{slug}.detail")).into_owned(),
            ),
        };
        let errors = match self {
            Self::Invalid(fields) | Self::InvalidQuery(fields) => fields
                .iter()
                .map(|&(field, reason)| FieldError {
                    field,
                    message: locale.t(reason.key()).into_owned(),
                })
                .collect(),
            _ => Vec::new(),
        };
        Problem {
            kind: format!("{TYPE_PREFIX}{slug}"),
            title,
            status: self.status().as_u16(),
            detail,
            errors,
        }
    }

    /// The response in `locale`; internal causes are logged here.
    pub fn response(&self, locale: Locale) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "partner API request failed");
        }
        self.render(locale)
    }

    /// The response in `locale`, without logging (for an error already logged).
    pub fn render(&self, locale: Locale) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        let retry_after = match self {
            Self::RateLimited {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            Self::Unavailable(_) => Some(outage::RETRY_AFTER_SECONDS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response
            .content_type(CONTENT_TYPE)
            .json(self.problem(locale))
    }
}

/// Rendered in Chinese; the signature middleware re-renders it in the
/// caller's language (`localize`), which `ResponseError` cannot know.
impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        self.response(Locale::default())
    }
}

/// The 503 problem for a request the database could not serve before it
/// reached a handler.
pub fn unavailable(locale: Locale, outage: Outage) -> HttpResponse {
    ApiError::Unavailable(outage).render(locale)
}

/// How the availability guard words an outage under `/api/`: a problem
/// document in the caller's language, not the portals' error page.
pub const OUTAGE_WORDING: Wording = Wording {
    path_prefix: "/api/",
    locale: locale_of,
    unavailable: |locale| unavailable(locale, Outage::NoConnection),
};

/// The language problems are written in: `Accept-Language`, Chinese otherwise.
/// Partners send no cookies, so the portals' language cookie plays no part.
pub fn locale_of(req: &HttpRequest) -> Locale {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Locale::from_accept_language)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_problem_lists_each_field_in_the_callers_language() {
        let error = ApiError::Invalid(vec![
            ("phone", FieldReason::Phone),
            ("amount_cny", FieldReason::Required),
        ]);
        let problem = error.problem(Locale::En);
        assert_eq!(problem.kind, "urn:alliance:problem:validation_failed");
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors.len(), 2);
        assert_eq!(problem.errors[0].field, "phone");
        assert!(!problem.errors[0].message.starts_with("api."));
        let chinese = error.problem(Locale::ZhCn);
        assert_ne!(chinese.title, problem.title);
    }

    /// The one rule: a service's refusal is its own problem, with the status
    /// its kind names; a failure of the system is a 500 that says nothing of
    /// its cause, or a 503 when the database is out.
    #[test]
    fn a_refusal_is_its_problem_and_a_failure_a_500_that_keeps_its_cause() {
        use crate::exchange::ExchangeError;
        use diesel::result::{DatabaseErrorKind, Error as DieselError};

        let refused = ApiError::from(ExchangeError::QuoteUsed).problem(Locale::En);
        assert_eq!(refused.kind, "urn:alliance:problem:quote_used");
        assert_eq!(refused.status, 409);
        assert_eq!(
            Some(refused.detail),
            ExchangeError::QuoteUsed.message(Locale::En)
        );
        let forbidden = ApiError::from(ExchangeError::UnknownMember);
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

        let cause = "relation \"secret_table\" does not exist";
        let failed = ApiError::from(ExchangeError::Database(DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(cause.to_owned()),
        )));
        let problem = failed.problem(Locale::En);
        assert_eq!(problem.status, 500);
        assert_eq!(problem.kind, "urn:alliance:problem:internal");
        assert!(!problem.detail.contains("secret_table"));
        assert!(!problem.title.contains("secret_table"));

        let lost = ApiError::from(DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("gone".to_owned()),
        ));
        assert_eq!(lost.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn every_problem_has_a_translated_title_and_detail() {
        let errors = [
            ApiError::Unauthorized(SignatureFailure::Missing),
            ApiError::Unauthorized(SignatureFailure::Stale),
            ApiError::Unauthorized(SignatureFailure::Replayed),
            ApiError::Unauthorized(SignatureFailure::Invalid),
            ApiError::MemberNotKnown,
            ApiError::NotFound,
            ApiError::MalformedBody,
            ApiError::BodyTooLarge,
            ApiError::Invalid(vec![]),
            ApiError::InvalidQuery(vec![("from", FieldReason::Date)]),
            ApiError::IdempotencyKeyRequired,
            ApiError::IdempotencyKeyReused,
            ApiError::RateLimited {
                retry_after_seconds: 3,
            },
            ApiError::Internal(anyhow::anyhow!("boom")),
        ];
        for error in &errors {
            for locale in Locale::ALL {
                let problem = error.problem(locale);
                assert!(!problem.title.starts_with("api."), "{error:?} {locale}");
                assert!(!problem.detail.starts_with("api."), "{error:?} {locale}");
                assert!(
                    !problem.detail.contains("boom"),
                    "internals stay in the log"
                );
            }
        }
    }
}
