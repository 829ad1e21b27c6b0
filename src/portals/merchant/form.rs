//! What the merchant console's forms share: messages shown beside the fields
//! they are about (templates/merchant/fields.html), the 422 answer that shows
//! a refused form again with them, and the member a typed mobile number names.

use actix_web::{HttpResponse, http::StatusCode};
use askama::Template;

use crate::{
    domain::phone::Phone,
    i18n::Locale,
    people::member::{self, Member},
    web::{error::WebError, state::AppState},
};

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

/// The member whose mobile number is `phone`, or the message for `field`:
/// the number is nobody's.
pub async fn known_member(
    state: &AppState,
    phone: &Phone,
    field: &'static str,
    locale: Locale,
) -> Result<Result<Member, FieldErrors>, WebError> {
    let (keys, phone) = (state.keys.clone(), phone.clone());
    let found = state
        .db(move |conn| member::find_by_phone(conn, &keys, &phone))
        .await?;
    Ok(found.ok_or_else(|| {
        let message = locale.t("earning_portals.field.phone_unknown");
        FieldErrors::one(field, message.into_owned())
    }))
}
