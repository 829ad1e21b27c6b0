//! The settlement statement email to the merchant's finance contact: the
//! period's figures and what the settlement decided, with the statement as a
//! CSV attachment (see `settlement::notify`).

use askama::Template;
use chrono::NaiveDate;

use super::{Email, render};
use crate::{
    domain::money::Money,
    i18n::{Locale, format},
};

#[derive(Debug, Clone)]
pub struct StatementEmail {
    pub display_name: String,
    pub merchant_name: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub opening: Money,
    pub closing: Money,
    /// Paid out to the merchant's recipients, after the platform's share.
    pub payout: Money,
    /// What the merchant owes and by when, when the statement opened a collection.
    pub owed: Option<(Money, NaiveDate)>,
}

impl StatementEmail {
    /// The period and its opening and closing positions, in `locale`.
    fn figures(&self, locale: Locale) -> String {
        locale.t_with(
            "email.statement.figures",
            &[
                ("merchant", &self.merchant_name),
                ("first", &self.first_day.to_string()),
                ("last", &self.last_day.to_string()),
                ("opening", &format::money(self.opening)),
                ("closing", &format::money(self.closing)),
            ],
        )
    }

    /// What the settlement decided, in `locale`.
    fn outcome(&self, locale: Locale) -> String {
        if let Some((amount, due_on)) = self.owed {
            locale.t_with(
                "email.statement.owed",
                &[
                    ("amount", &format::money(amount)),
                    ("due", &due_on.to_string()),
                ],
            )
        } else if self.payout.is_positive() {
            locale.t_with(
                "email.statement.payout",
                &[("amount", &format::money(self.payout))],
            )
        } else {
            locale.t("email.statement.nil").into_owned()
        }
    }
}

#[derive(Template)]
#[template(path = "email/statement.html")]
struct Html<'a> {
    email: &'a StatementEmail,
    locale: Locale,
}

#[derive(Template)]
#[template(path = "email/statement.txt")]
struct Text<'a> {
    email: &'a StatementEmail,
    locale: Locale,
}

impl Email for StatementEmail {
    fn subject(&self, locale: Locale) -> String {
        locale.t_with(
            "email.statement.subject",
            &[
                ("merchant", &self.merchant_name),
                ("first", &self.first_day.to_string()),
                ("last", &self.last_day.to_string()),
            ],
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
