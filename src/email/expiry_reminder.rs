//! The email a member gets before points lapse: which programs, how many points,
//! from when. At most one per member per program per week (see `earn::expiry`).

use askama::Template;
use chrono::{DateTime, Utc};

use super::{Email, render};
use crate::i18n::{Locale, format};

#[derive(Debug, Clone)]
pub struct ExpiringPoints {
    /// The program's name in the member's language.
    pub program: String,
    pub points: i64,
    /// When the first of these points lapse.
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ExpiryReminderEmail {
    pub display_name: String,
    pub lines: Vec<ExpiringPoints>,
    pub points_url: String,
}

impl ExpiryReminderEmail {
    /// "1,200 points of 星巴克 from 2026-12-01 08:00".
    fn line(line: &ExpiringPoints, locale: Locale) -> String {
        locale.t_with(
            "email.expiry_reminder.line",
            &[
                ("points", &format::count(line.points)),
                ("program", &line.program),
                ("date", &format::datetime(line.expires_at, locale)),
            ],
        )
    }
}

#[derive(Template)]
#[template(path = "email/expiry_reminder.html")]
struct Html<'a> {
    email: &'a ExpiryReminderEmail,
    locale: Locale,
}

#[derive(Template)]
#[template(path = "email/expiry_reminder.txt")]
struct Text<'a> {
    email: &'a ExpiryReminderEmail,
    locale: Locale,
}

impl Email for ExpiryReminderEmail {
    fn subject(&self, locale: Locale) -> String {
        locale.t("email.expiry_reminder.subject").into_owned()
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
