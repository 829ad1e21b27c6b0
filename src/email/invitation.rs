//! The invitation a new operator or merchant user gets: a one-time link to choose
//! their first password.

use askama::Template;

use super::{Email, render};
use crate::{domain::portal::Portal, i18n::Locale};

#[derive(Debug, Clone)]
pub struct InvitationEmail {
    pub display_name: String,
    /// Which console they were invited to.
    pub portal: Portal,
    pub set_password_url: String,
    pub expires_in_hours: u32,
}

impl InvitationEmail {
    fn console_key(&self) -> &'static str {
        match self.portal {
            Portal::Platform => "email.invitation.platform",
            Portal::Merchant => "email.invitation.merchant",
            Portal::Consumer => "email.invitation.consumer",
        }
    }
}

#[derive(Template)]
#[template(path = "email/invitation.html")]
struct Html<'a> {
    email: &'a InvitationEmail,
    locale: Locale,
}

#[derive(Template)]
#[template(path = "email/invitation.txt")]
struct Text<'a> {
    email: &'a InvitationEmail,
    locale: Locale,
}

impl Email for InvitationEmail {
    fn subject(&self, locale: Locale) -> String {
        locale.t_with(
            "email.invitation.subject",
            &[("console", &locale.t(self.console_key()))],
        )
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
