//! What a portal handler that shows a page and takes a form uses, in one
//! import: the request's context, the form and its CSRF check, the flash and
//! the error page, the chrome, the state and the locale's formats. Handlers
//! that use most of it import `super::super::prelude::*` (or the path from
//! where they stand) instead of repeating the same list.

pub(super) use super::see_other;
pub(super) use crate::{
    error::Classify,
    i18n::{Locale, format},
    web::{
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};
