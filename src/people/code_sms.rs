//! The text messages that carry a one-time code, or stand in for one. Every one
//! starts with the brand in brackets (【积分联盟】), which mainland carriers
//! require as the signature.

use super::phone_code::Purpose;
use crate::{i18n::Locale, sms::Sms};

/// A one-time code, and what it is for.
#[derive(Debug, Clone)]
pub struct OneTimeCodeSms {
    pub purpose: Purpose,
    pub code: String,
    pub minutes: u32,
}

impl Sms for OneTimeCodeSms {
    fn text(&self, locale: Locale) -> String {
        let action = locale.t(match self.purpose {
            Purpose::SignUp => "sms.purpose.sign_up",
            Purpose::Claim => "sms.purpose.claim",
            Purpose::SignIn => "sms.purpose.sign_in",
            Purpose::Reset => "sms.purpose.reset",
            Purpose::Verify => "sms.purpose.verify",
        });
        locale.t_with(
            "sms.code",
            &[
                ("brand", &locale.t("sms.brand")),
                ("code", &self.code),
                ("action", &action),
                ("minutes", &self.minutes.to_string()),
            ],
        )
    }
}

/// Sent instead of a sign-up code to a number that already has an account, so
/// the sign-up page itself never tells whether a number is registered.
#[derive(Debug, Clone, Copy)]
pub struct AccountExistsSms;

impl Sms for AccountExistsSms {
    fn text(&self, locale: Locale) -> String {
        locale.t_with("sms.account_exists", &[("brand", &locale.t("sms.brand"))])
    }
}

/// Sent instead of a sign-in or reset code to a number without an account
/// (or whose account a merchant opened and nobody has claimed yet).
#[derive(Debug, Clone, Copy)]
pub struct NoAccountSms;

impl Sms for NoAccountSms {
    fn text(&self, locale: Locale) -> String {
        locale.t_with("sms.no_account", &[("brand", &locale.t("sms.brand"))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_signed_and_translated() {
        let code = OneTimeCodeSms {
            purpose: Purpose::SignUp,
            code: "042917".to_owned(),
            minutes: 5,
        };
        let zh = code.text(Locale::ZhCn);
        assert!(
            zh.starts_with("【积分联盟】") && zh.contains("042917") && zh.contains("5 分钟"),
            "{zh}"
        );
        let en = code.text(Locale::En);
        assert!(
            en.starts_with("[Alliance]") && en.contains("042917") && en.contains("join"),
            "{en}"
        );
        for locale in Locale::ALL {
            for text in [AccountExistsSms.text(locale), NoAccountSms.text(locale)] {
                assert!(!text.contains("%{"), "{text}");
                assert!(text.starts_with(&*locale.t("sms.brand")), "{text}");
            }
        }
        assert!(AccountExistsSms.text(Locale::ZhCn).contains("已注册"));
    }
}
