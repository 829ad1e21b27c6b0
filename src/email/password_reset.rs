//! The password-reset email: a one-time link to choose a new password.

use askama::Template;

use super::{Email, render};
use crate::i18n::Locale;

#[derive(Debug, Clone)]
pub struct PasswordResetEmail {
    pub display_name: String,
    pub reset_url: String,
    pub expires_in_minutes: u32,
}

#[derive(Template)]
#[template(path = "email/password_reset.html")]
struct Html<'a> {
    email: &'a PasswordResetEmail,
    locale: Locale,
}

#[derive(Template)]
#[template(path = "email/password_reset.txt")]
struct Text<'a> {
    email: &'a PasswordResetEmail,
    locale: Locale,
}

impl Email for PasswordResetEmail {
    fn subject(&self, locale: Locale) -> String {
        locale.t("email.password_reset.subject").into_owned()
    }

    fn text(&self, locale: Locale) -> String {
        render(&Text {
            email: self,
            locale,
        })
    }

    fn html(&self, locale: Locale) -> String {
        render(&Html {
            email: self,
            locale,
        })
    }
}
