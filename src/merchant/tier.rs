//! Merchant tiers and what each one sets by default. Strategic merchants (战略级)
//! integrate through the API, customise earning rules and get a narrower fee
//! spread; standard merchants start from a ready template.

use crate::domain::{money::Money, text_enum::text_enum};
use rust_decimal::Decimal;

text_enum! {
    pub enum Tier {
        Strategic => "strategic",
        Standard => "standard",
    }
}

/// The defaults a tier sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierPolicy {
    /// The settlement deposit never required below this.
    pub minimum_deposit: Money,
    /// Share of the outstanding points liability (valued in CNY) the deposit must
    /// cover.
    pub coverage_ratio: Decimal,
    /// The exchange fee spread, in basis points of the value exchanged.
    pub fee_spread_bps: u32,
    /// May call the partner API.
    pub api_access: bool,
    /// May set its own earning rules beyond the template.
    pub custom_earn_rules: bool,
}

impl Tier {
    pub fn policy(self) -> TierPolicy {
        match self {
            Self::Strategic => TierPolicy {
                minimum_deposit: Money::from_fen(20_000_000), // ¥200,000.00
                coverage_ratio: Decimal::new(20, 2),
                fee_spread_bps: 150,
                api_access: true,
                custom_earn_rules: true,
            },
            Self::Standard => TierPolicy {
                minimum_deposit: Money::from_fen(5_000_000), // ¥50,000.00
                coverage_ratio: Decimal::new(30, 2),
                fee_spread_bps: 300,
                api_access: false,
                custom_earn_rules: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategic_merchants_put_up_more_and_pay_a_narrower_spread() {
        let (strategic, standard) = (Tier::Strategic.policy(), Tier::Standard.policy());
        assert!(strategic.minimum_deposit > standard.minimum_deposit);
        assert!(strategic.fee_spread_bps < standard.fee_spread_bps);
        assert!(strategic.api_access && !standard.api_access);
        assert_eq!(Tier::parse("standard"), Some(Tier::Standard));
        assert_eq!(Tier::parse("gold"), None);
    }
}
