//! What the merchant console's store, key and settings forms share: messages
//! shown beside the fields they are about (templates/merchant/fields.html), and
//! the 422 answer that shows a refused form again with them.

use actix_web::{HttpResponse, http::StatusCode};
use askama::Template;

use crate::web::error::WebError;

/// Translated messages by form field name.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn one(field: &'static str, message: String) -> Self {
        Self(vec![(field, message)])
    }

    pub fn push(&mut self, field: &'static str, message: String) {
        self.0.push((field, message));
    }

    /// The message for `field`, for the template.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, message)| message.as_str())
    }
}

/// A page rendered with a status other than 200's default.
pub fn respond(status: StatusCode, page: &impl Template) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

/// The form again, with what was wrong: nothing was changed.
pub fn unprocessable(page: &impl Template) -> Result<HttpResponse, WebError> {
    respond(StatusCode::UNPROCESSABLE_ENTITY, page)
}
