//! The email a merchant gets when its settlement deposit falls below the required
//! amount: the figures, whether issuing is blocked, and where to top up. Sent
//! once per shortfall (see `deposit::notify`).

use askama::Template;

use super::{Email, render};
use crate::{
    domain::money::Money,
    i18n::{Locale, format},
};

#[derive(Debug, Clone)]
pub struct DepositShortfallEmail {
    pub display_name: String,
    pub merchant_name: String,
    pub balance: Money,
    pub required: Money,
    /// `77.7%`.
    pub coverage: String,
    /// Below this, issuing is blocked.
    pub hard_minimum: Money,
    /// The balance is already below the hard minimum.
    pub blocked: bool,
    pub deposit_url: String,
}

impl DepositShortfallEmail {
    fn money(amount: Money) -> String {
        format::money(amount)
    }

    /// The sentence with the figures, in `locale`.
    fn figures(&self, locale: Locale) -> String {
        locale.t_with(
            "email.deposit_shortfall.figures",
            &[
                ("merchant", &self.merchant_name),
                ("balance", &Self::money(self.balance)),
                ("required", &Self::money(self.required)),
                ("coverage", &self.coverage),
                (
                    "shortfall",
                    &Self::money(Money::from_fen(
                        self.required.fen().saturating_sub(self.balance.fen()),
                    )),
                ),
            ],
        )
    }

    /// What happens to issuing, in `locale`.
    fn consequence(&self, locale: Locale) -> String {
        let key = if self.blocked {
            "email.deposit_shortfall.blocked"
        } else {
            "email.deposit_shortfall.warning"
        };
        locale.t_with(key, &[("minimum", &Self::money(self.hard_minimum))])
    }
}

#[derive(Template)]
#[template(path = "email/deposit_shortfall.html")]
struct Html<'a> {
    email: &'a DepositShortfallEmail,
    locale: Locale,
}

#[derive(Template)]
#[template(path = "email/deposit_shortfall.txt")]
struct Text<'a> {
    email: &'a DepositShortfallEmail,
    locale: Locale,
}

impl Email for DepositShortfallEmail {
    fn subject(&self, locale: Locale) -> String {
        locale.t_with(
            "email.deposit_shortfall.subject",
            &[("merchant", &self.merchant_name)],
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
