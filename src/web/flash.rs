//! The one adapter from a service error to what a portal shows (the API's is
//! `api::problem`): a refusal is a message the person reads, flashed on the
//! next page or shown on this one; a failure of the system is the error page,
//! its cause logged (a 503 when the database is out).

use actix_session::Session;

use crate::{
    db::Outage,
    error::{Class, Classify, Kind, Refusal},
    i18n::Locale,
};

use super::{
    context::{set_flash, set_flash_message},
    error::WebError,
    page::FlashKind,
};

/// A failure of the system as the error page it becomes.
pub fn system<E: std::error::Error + Send + Sync + 'static>(error: E) -> WebError {
    let outage = std::iter::successors(Some(&error as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .find_map(|e| e.downcast_ref().and_then(Outage::of_error));
    match outage {
        Some(outage) => WebError::Unavailable(outage),
        None => WebError::Internal(error.into()),
    }
}

/// Separates a refusal in `result`, which the page shows, from a failure of
/// the system, which is the error page instead.
pub fn refusal<T, E>(result: Result<T, E>) -> Result<Result<T, E>, WebError>
where
    E: Classify + Send + Sync + 'static,
{
    match result {
        Err(error) if !error.is_refusal() => Err(system(error)),
        other => Ok(other),
    }
}

/// Like [`refusal`], for a page addressed by its URL: a refusal of what is not
/// there (an id in the path that names nothing) is the 404 page, as a page
/// that does not exist is.
pub fn found<T, E>(result: Result<T, E>) -> Result<Result<T, E>, WebError>
where
    E: Classify + Send + Sync + 'static,
{
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(error) => match error.class() {
            Class::Refusal(Refusal {
                kind: Kind::NotFound,
                ..
            }) => Err(WebError::NotFound),
            Class::Refusal(_) => Ok(Err(error)),
            Class::System => Err(system(error)),
        },
    }
}

/// The refusal in `result` as its message in `locale`; a failure of the
/// system is the error page instead.
pub fn refused<T, E>(result: Result<T, E>, locale: Locale) -> Result<Result<T, String>, WebError>
where
    E: Classify + Send + Sync + 'static,
{
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(error) => match error.class() {
            Class::Refusal(refusal) => Ok(Err(refusal.message.render(locale))),
            Class::System => Err(system(error)),
        },
    }
}

/// Flashes `success` (a catalog key), or the refusal; a failure of the system
/// is the error page. The value, when there is one.
pub fn outcome<T, E>(
    session: &Session,
    locale: Locale,
    result: Result<T, E>,
    success: &str,
) -> Result<Option<T>, WebError>
where
    E: Classify + Send + Sync + 'static,
{
    match result {
        Ok(value) => {
            set_flash(session, FlashKind::Success, success);
            Ok(Some(value))
        }
        Err(error) => {
            refused_flash(session, locale, error)?;
            Ok(None)
        }
    }
}

/// Flashes the refusal `error` is; a failure of the system is the error page.
pub fn refused_flash<E>(session: &Session, locale: Locale, error: E) -> Result<(), WebError>
where
    E: Classify + Send + Sync + 'static,
{
    match error.class() {
        Class::Refusal(refusal) => {
            set_flash_message(session, FlashKind::Error, &refusal.message, locale);
            Ok(())
        }
        Class::System => Err(system(error)),
    }
}
