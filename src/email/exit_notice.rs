//! The email a member gets when a programme they hold points of starts leaving
//! the alliance: how many points, what they are worth, and from when what is
//! left is converted into ALP. Sent once per member and exit (see
//! `merchant::exit::notice`).

use askama::Template;
use chrono::{DateTime, Utc};

use super::{Email, render};
use crate::{
    domain::money::Money,
    i18n::{Locale, format},
};

#[derive(Debug, Clone)]
pub struct ExitNoticeEmail {
    pub display_name: String,
    /// The programme's name in the member's language.
    pub program: String,
    pub points: i64,
    /// The points at the settlement value.
    pub value: Money,
    pub notice_ends_at: DateTime<Utc>,
    pub points_url: String,
}

impl ExitNoticeEmail {
    /// The sentence with the figures, in `locale`.
    fn body(&self, locale: Locale) -> String {
        locale.t_with(
            "email.exit_notice.body",
            &[
                ("program", &self.program),
                ("points", &format::count(self.points)),
                ("value", &format::money(self.value)),
                ("date", &format::datetime(self.notice_ends_at, locale)),
            ],
        )
    }
}

#[derive(Template)]
#[template(path = "email/exit_notice.html")]
struct Html<'a> {
    email: &'a ExitNoticeEmail,
    locale: Locale,
}

#[derive(Template)]
#[template(path = "email/exit_notice.txt")]
struct Text<'a> {
    email: &'a ExitNoticeEmail,
    locale: Locale,
}

impl Email for ExitNoticeEmail {
    fn subject(&self, locale: Locale) -> String {
        locale.t_with("email.exit_notice.subject", &[("program", &self.program)])
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
