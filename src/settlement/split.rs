//! Rev-share and split rules (分账): how a merchant's payout is divided between
//! the platform and the merchant's recipients — its own bank accounts and its
//! agents or referrers (代理商).
//!
//! A merchant's [`SplitRules`] are a platform fee in basis points (1 bp =
//! 0.01 %) and one [`Rule`] per recipient. Each recipient takes a percentage
//! ([`Share::Percent`]), a fixed amount ([`Share::Fixed`]), or — exactly one of
//! them, normally the merchant's primary own account — whatever is left
//! ([`Share::Rest`]).
//!
//! # Rounding
//!
//! All arithmetic is on whole fen, in integers; nothing is ever a float.
//!
//! 1. The platform fee is the net × the fee's basis points / 10 000, rounded
//!    down to the fen.
//! 2. The fixed amounts are paid next, in rule order, each capped at what is
//!    left after the fee and the fixed amounts before it: when the net is too
//!    small, a later fixed recipient receives less, or nothing.
//! 3. Each percentage share is that percentage of what remains after the fee
//!    and all the fixed amounts, rounded down to the fen. The percentages are
//!    all taken of the same amount, so their order does not matter, and
//!    because they never add up to more than 100 % they never take more than
//!    there is.
//! 4. The [`Share::Rest`] recipient receives everything left, including every
//!    fen the rounding down left over.
//!
//! So the platform fee and the payouts always add up to the net exactly: no
//! fen is lost or invented, and every rounding difference goes to the
//! merchant's own account rather than to the platform or an agent.

use std::collections::HashSet;

use thiserror::Error;

use crate::{
    domain::money::Money,
    error::{Class, Classify, Kind, Message, Refusal},
};

/// 100 % in basis points.
pub const WHOLE_BP: u32 = 10_000;

/// A merchant may split a payout among at most this many recipients; bank
/// batch files and a reviewer reading the rules both need a bound.
pub const MAX_RECIPIENTS: usize = 50;

/// What one recipient receives of a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// A percentage, in basis points (1..=10 000), of what remains after the
    /// platform fee and the fixed amounts.
    Percent(u32),
    /// A fixed amount (more than zero), capped at what is left.
    Fixed(Money),
    /// Whatever is left: the residual recipient, exactly one per merchant.
    Rest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub recipient_id: i64,
    pub share: Share,
}

/// A merchant's validated split rules; only [`SplitRules::new`] makes them,
/// so every `SplitRules` can split any positive net.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitRules {
    platform_fee_bp: u32,
    rules: Vec<Rule>,
}

/// Why split rules were refused. Each has its own message (see
/// [`SplitError::message_key`]) so the merchant or operator editing the rules
/// learns what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SplitError {
    #[error("platform fee of {bp} bp is outside 0..=10000")]
    PlatformFeeOutOfRange { bp: u32 },
    #[error("split rules need at least one recipient")]
    NoRecipients,
    #[error("{count} recipients; at most {MAX_RECIPIENTS} are allowed")]
    TooManyRecipients { count: usize },
    #[error("recipient {recipient_id} appears more than once")]
    DuplicateRecipient { recipient_id: i64 },
    #[error("recipient {recipient_id}'s share of {bp} bp is outside 1..=10000")]
    PercentOutOfRange { recipient_id: i64, bp: u32 },
    #[error("recipient {recipient_id}'s fixed amount must be more than zero")]
    FixedNotPositive { recipient_id: i64 },
    #[error("no recipient receives the rest")]
    NoRest,
    #[error("more than one recipient receives the rest")]
    SeveralRests,
    #[error("the percentage shares add up to {total_bp} bp, more than 10000")]
    PercentsExceedWhole { total_bp: u64 },
}

impl Classify for SplitError {
    fn class(&self) -> Class {
        Class::Refusal(Refusal::new(
            Kind::Unprocessable,
            "split_refused",
            Message::new(self.message_key()),
        ))
    }
}

impl SplitError {
    /// The translation key of the message shown to a person.
    pub fn message_key(&self) -> &'static str {
        match self {
            Self::PlatformFeeOutOfRange { .. } => {
                "settlement.split.error.platform_fee_out_of_range"
            }
            Self::NoRecipients => "settlement.split.error.no_recipients",
            Self::TooManyRecipients { .. } => "settlement.split.error.too_many_recipients",
            Self::DuplicateRecipient { .. } => "settlement.split.error.duplicate_recipient",
            Self::PercentOutOfRange { .. } => "settlement.split.error.percent_out_of_range",
            Self::FixedNotPositive { .. } => "settlement.split.error.fixed_not_positive",
            Self::NoRest => "settlement.split.error.no_rest",
            Self::SeveralRests => "settlement.split.error.several_rests",
            Self::PercentsExceedWhole { .. } => "settlement.split.error.percents_exceed_whole",
        }
    }
}

/// One payout divided: the parts add up to the net exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub platform_fee: Money,
    /// `(recipient_id, amount)` in rule order; a recipient whose part is zero
    /// is left out, since there is nothing to pay them.
    pub payouts: Vec<(i64, Money)>,
}

impl SplitRules {
    pub fn new(platform_fee_bp: u32, rules: Vec<Rule>) -> Result<Self, SplitError> {
        if platform_fee_bp > WHOLE_BP {
            return Err(SplitError::PlatformFeeOutOfRange {
                bp: platform_fee_bp,
            });
        }
        if rules.is_empty() {
            return Err(SplitError::NoRecipients);
        }
        if rules.len() > MAX_RECIPIENTS {
            return Err(SplitError::TooManyRecipients { count: rules.len() });
        }
        let mut seen = HashSet::with_capacity(rules.len());
        let mut rests = 0_usize;
        // u64: 50 shares of up to u32::MAX each cannot overflow it, so an
        // absurd input is reported as too much rather than wrapping round.
        let mut total_bp = 0_u64;
        for rule in &rules {
            if !seen.insert(rule.recipient_id) {
                return Err(SplitError::DuplicateRecipient {
                    recipient_id: rule.recipient_id,
                });
            }
            match rule.share {
                Share::Percent(bp) if bp == 0 || bp > WHOLE_BP => {
                    return Err(SplitError::PercentOutOfRange {
                        recipient_id: rule.recipient_id,
                        bp,
                    });
                }
                Share::Percent(bp) => total_bp += u64::from(bp),
                Share::Fixed(amount) if !amount.is_positive() => {
                    return Err(SplitError::FixedNotPositive {
                        recipient_id: rule.recipient_id,
                    });
                }
                Share::Fixed(_) => {}
                Share::Rest => rests += 1,
            }
        }
        match rests {
            0 => return Err(SplitError::NoRest),
            1 => {}
            _ => return Err(SplitError::SeveralRests),
        }
        if total_bp > u64::from(WHOLE_BP) {
            return Err(SplitError::PercentsExceedWhole { total_bp });
        }
        Ok(Self {
            platform_fee_bp,
            rules,
        })
    }

    pub fn platform_fee_bp(&self) -> u32 {
        self.platform_fee_bp
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Divides a payout by the rules in the module documentation.
    ///
    /// `net` must be positive: only a position in the merchant's favour is
    /// paid out (one against it is collected, not split). Debug builds assert
    /// it; in release the parts still add up to `net`.
    pub fn split(&self, net: Money) -> Split {
        debug_assert!(net.is_positive(), "only a positive net is split, got {net}");
        // i128: a share's product (net × basis points) can exceed i64.
        let net = i128::from(net.fen());
        let platform_fee = share_of(net, self.platform_fee_bp);
        let mut left = net - platform_fee;
        let mut parts = vec![0_i128; self.rules.len()];
        for (part, rule) in parts.iter_mut().zip(&self.rules) {
            if let Share::Fixed(amount) = rule.share {
                *part = i128::from(amount.fen()).min(left);
                left -= *part;
            }
        }
        let after_fixed = left;
        for (part, rule) in parts.iter_mut().zip(&self.rules) {
            if let Share::Percent(bp) = rule.share {
                *part = share_of(after_fixed, bp);
                left -= *part;
            }
        }
        for (part, rule) in parts.iter_mut().zip(&self.rules) {
            if rule.share == Share::Rest {
                *part = left;
            }
        }
        Split {
            platform_fee: to_money(platform_fee),
            payouts: self
                .rules
                .iter()
                .zip(parts)
                .filter(|(_, part)| *part != 0)
                .map(|(rule, part)| (rule.recipient_id, to_money(part)))
                .collect(),
        }
    }
}

/// `amount × bp / 10 000`, rounded down (toward zero) to the fen.
fn share_of(amount: i128, bp: u32) -> i128 {
    amount * i128::from(bp) / i128::from(WHOLE_BP)
}

/// Every part lies between zero and the net, which is an i64.
fn to_money(fen: i128) -> Money {
    Money::from_fen(i64::try_from(fen).expect("a part never exceeds the net"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::i18n::Locale;

    fn yuan(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn rule(recipient_id: i64, share: Share) -> Rule {
        Rule {
            recipient_id,
            share,
        }
    }

    #[test]
    fn a_worked_example_with_every_kind_of_share() {
        // ¥100.00, fee 2.5 %: ¥2.50. Fixed ¥10.00 leaves ¥87.50; the agent's
        // 3.33 % of it is ¥2.91375, rounded down to ¥2.91; the rest ¥84.59.
        let rules = SplitRules::new(
            250,
            vec![
                rule(1, Share::Rest),
                rule(2, Share::Percent(333)),
                rule(3, Share::Fixed(yuan("10.00"))),
            ],
        )
        .unwrap();
        let split = rules.split(yuan("100.00"));
        assert_eq!(split.platform_fee, yuan("2.50"));
        assert_eq!(
            split.payouts,
            vec![(1, yuan("84.59")), (2, yuan("2.91")), (3, yuan("10.00"))]
        );
    }

    #[test]
    fn percentages_are_of_what_the_fee_and_fixed_amounts_leave() {
        // ¥1 000.00, fee 0.6 %: ¥6.00; fixed ¥94.00 leaves ¥900.00, of which
        // 10 % is ¥90.00 and 33.33 % is ¥299.97; the rest ¥510.03.
        let rules = SplitRules::new(
            60,
            vec![
                rule(10, Share::Percent(1_000)),
                rule(11, Share::Fixed(yuan("94.00"))),
                rule(12, Share::Percent(3_333)),
                rule(13, Share::Rest),
            ],
        )
        .unwrap();
        let split = rules.split(yuan("1000.00"));
        assert_eq!(split.platform_fee, yuan("6.00"));
        assert_eq!(
            split.payouts,
            vec![
                (10, yuan("90.00")),
                (11, yuan("94.00")),
                (12, yuan("299.97")),
                (13, yuan("510.03")),
            ]
        );
    }

    #[test]
    fn fixed_amounts_are_capped_in_rule_order_and_zero_parts_left_out() {
        // ¥15.00 with a 10 % fee leaves ¥13.50: the first fixed ¥10.00 is paid
        // in full, the second gets the ¥3.50 left, and nothing remains for the
        // percentage or the rest.
        let rules = SplitRules::new(
            1_000,
            vec![
                rule(1, Share::Fixed(yuan("10.00"))),
                rule(2, Share::Percent(5_000)),
                rule(3, Share::Fixed(yuan("10.00"))),
                rule(4, Share::Rest),
            ],
        )
        .unwrap();
        let split = rules.split(yuan("15.00"));
        assert_eq!(split.platform_fee, yuan("1.50"));
        assert_eq!(split.payouts, vec![(1, yuan("10.00")), (3, yuan("3.50"))]);
    }

    #[test]
    fn one_fen_goes_to_the_rest_because_every_share_rounds_down() {
        let rules = SplitRules::new(
            250,
            vec![rule(1, Share::Percent(5_000)), rule(2, Share::Rest)],
        )
        .unwrap();
        let split = rules.split(Money::from_fen(1));
        assert_eq!(split.platform_fee, Money::ZERO);
        assert_eq!(split.payouts, vec![(2, Money::from_fen(1))]);
    }

    #[test]
    fn a_whole_fee_or_whole_percentage_leaves_the_rest_nothing() {
        let rules = SplitRules::new(WHOLE_BP, vec![rule(1, Share::Rest)]).unwrap();
        let split = rules.split(yuan("9.99"));
        assert_eq!((split.platform_fee, split.payouts), (yuan("9.99"), vec![]));

        let rules = SplitRules::new(
            0,
            vec![rule(1, Share::Rest), rule(2, Share::Percent(WHOLE_BP))],
        )
        .unwrap();
        assert_eq!(rules.split(yuan("9.99")).payouts, vec![(2, yuan("9.99"))]);
    }

    #[test]
    fn the_largest_net_splits_without_overflow() {
        let rules = SplitRules::new(
            9_999,
            vec![rule(1, Share::Percent(9_999)), rule(2, Share::Rest)],
        )
        .unwrap();
        let net = Money::from_fen(i64::MAX);
        let split = rules.split(net);
        let total: i128 = i128::from(split.platform_fee.fen())
            + split
                .payouts
                .iter()
                .map(|(_, part)| i128::from(part.fen()))
                .sum::<i128>();
        assert_eq!(total, i128::from(net.fen()));
    }

    #[test]
    fn the_platform_fee_must_be_at_most_the_whole() {
        assert_eq!(
            SplitRules::new(10_001, vec![rule(1, Share::Rest)]),
            Err(SplitError::PlatformFeeOutOfRange { bp: 10_001 })
        );
        assert!(SplitRules::new(0, vec![rule(1, Share::Rest)]).is_ok());
    }

    #[test]
    fn there_are_one_to_fifty_recipients() {
        assert_eq!(SplitRules::new(0, vec![]), Err(SplitError::NoRecipients));
        let many = |count: i64| {
            (1..count)
                .map(|id| rule(id, Share::Fixed(Money::from_fen(1))))
                .chain([rule(0, Share::Rest)])
                .collect::<Vec<_>>()
        };
        assert!(SplitRules::new(0, many(50)).is_ok());
        assert_eq!(
            SplitRules::new(0, many(51)),
            Err(SplitError::TooManyRecipients { count: 51 })
        );
    }

    #[test]
    fn a_recipient_appears_once() {
        assert_eq!(
            SplitRules::new(
                0,
                vec![
                    rule(7, Share::Percent(100)),
                    rule(8, Share::Rest),
                    rule(7, Share::Fixed(yuan("1.00"))),
                ]
            ),
            Err(SplitError::DuplicateRecipient { recipient_id: 7 })
        );
    }

    #[test]
    fn a_percentage_is_from_one_basis_point_to_the_whole() {
        for bp in [0, 10_001, u32::MAX] {
            assert_eq!(
                SplitRules::new(0, vec![rule(1, Share::Rest), rule(2, Share::Percent(bp))]),
                Err(SplitError::PercentOutOfRange {
                    recipient_id: 2,
                    bp
                })
            );
        }
    }

    #[test]
    fn a_fixed_amount_is_more_than_zero() {
        for fen in [0, -1] {
            assert_eq!(
                SplitRules::new(
                    0,
                    vec![
                        rule(1, Share::Rest),
                        rule(2, Share::Fixed(Money::from_fen(fen)))
                    ]
                ),
                Err(SplitError::FixedNotPositive { recipient_id: 2 })
            );
        }
    }

    #[test]
    fn exactly_one_recipient_receives_the_rest() {
        assert_eq!(
            SplitRules::new(0, vec![rule(1, Share::Percent(100))]),
            Err(SplitError::NoRest)
        );
        assert_eq!(
            SplitRules::new(0, vec![rule(1, Share::Rest), rule(2, Share::Rest)]),
            Err(SplitError::SeveralRests)
        );
    }

    #[test]
    fn shares_never_exceed_the_whole() {
        assert_eq!(
            SplitRules::new(
                0,
                vec![
                    rule(1, Share::Percent(6_000)),
                    rule(2, Share::Rest),
                    rule(3, Share::Percent(4_001)),
                ]
            ),
            Err(SplitError::PercentsExceedWhole { total_bp: 10_001 })
        );
        assert!(
            SplitRules::new(
                0,
                vec![
                    rule(1, Share::Percent(6_000)),
                    rule(2, Share::Rest),
                    rule(3, Share::Percent(4_000)),
                ]
            )
            .is_ok()
        );
    }

    #[test]
    fn every_error_has_a_message_in_every_language() {
        let errors = [
            SplitError::PlatformFeeOutOfRange { bp: 10_001 },
            SplitError::NoRecipients,
            SplitError::TooManyRecipients { count: 51 },
            SplitError::DuplicateRecipient { recipient_id: 1 },
            SplitError::PercentOutOfRange {
                recipient_id: 1,
                bp: 0,
            },
            SplitError::FixedNotPositive { recipient_id: 1 },
            SplitError::NoRest,
            SplitError::SeveralRests,
            SplitError::PercentsExceedWhole { total_bp: 10_001 },
        ];
        let keys: HashSet<_> = errors.iter().map(SplitError::message_key).collect();
        assert_eq!(keys.len(), errors.len(), "every error has its own key");
        for key in keys {
            for locale in Locale::ALL {
                assert_ne!(locale.t(key), key, "{key} is missing in {locale}");
            }
        }
    }

    /// Valid rules: 1 to 50 distinct recipients, the rest somewhere among them,
    /// the others a random mix of fixed amounts and percentages scaled down,
    /// when needed, so they add up to at most the whole (often exactly to it).
    fn valid_rules() -> impl Strategy<Value = SplitRules> {
        let fee = prop_oneof![Just(0), Just(WHOLE_BP), 0..=WHOLE_BP];
        let fixed = prop_oneof![1_i64..=10_000, 1_i64..=1_000_000_000_000];
        (
            fee,
            prop::collection::hash_set(any::<i64>(), 1..=MAX_RECIPIENTS),
            prop::collection::vec((any::<bool>(), 1..=WHOLE_BP, fixed), MAX_RECIPIENTS),
            any::<prop::sample::Index>(),
        )
            .prop_map(|(fee_bp, ids, shapes, rest_at)| {
                let rest_at = rest_at.index(ids.len());
                let mut rules: Vec<Rule> = ids
                    .into_iter()
                    .zip(shapes)
                    .enumerate()
                    .map(|(index, (recipient_id, (is_percent, bp, fen)))| {
                        let share = if index == rest_at {
                            Share::Rest
                        } else if is_percent {
                            Share::Percent(bp)
                        } else {
                            Share::Fixed(Money::from_fen(fen))
                        };
                        rule(recipient_id, share)
                    })
                    .collect();
                let percents: Vec<u32> = rules
                    .iter()
                    .filter_map(|rule| match rule.share {
                        Share::Percent(bp) => Some(bp),
                        _ => None,
                    })
                    .collect();
                let count = u64::try_from(percents.len()).unwrap();
                let total: u64 = percents.iter().copied().map(u64::from).sum();
                if total > u64::from(WHOLE_BP) {
                    // Keep each at least 1 bp: 1 + (bp − 1) scaled into what
                    // the ones leave of the whole.
                    let above_one = total - count;
                    let room = u64::from(WHOLE_BP) - count;
                    for rule in &mut rules {
                        if let Share::Percent(bp) = &mut rule.share {
                            let scaled = 1 + (u64::from(*bp) - 1) * room / above_one;
                            *bp = u32::try_from(scaled).unwrap();
                        }
                    }
                }
                SplitRules::new(fee_bp, rules).expect("the strategy makes valid rules")
            })
    }

    fn nets() -> impl Strategy<Value = i64> {
        prop_oneof![
            3 => 1_i64..=100_000,
            3 => 1_i64..=1_000_000_000_000,
            1 => 1_i64..=i64::MAX,
            1 => Just(i64::MAX),
        ]
    }

    proptest! {
        #[test]
        fn the_parts_add_up_to_the_net_and_each_follows_its_rule(
            rules in valid_rules(),
            net in nets(),
        ) {
            let split = rules.split(Money::from_fen(net));
            let net = i128::from(net);
            let whole = i128::from(WHOLE_BP);
            let fee = i128::from(split.platform_fee.fen());
            let total = fee + split.payouts.iter().map(|(_, part)| i128::from(part.fen())).sum::<i128>();
            prop_assert_eq!(total, net);

            // The fee: at most its exact share, less than a fen below it.
            let exact_fee = net * i128::from(rules.platform_fee_bp());
            prop_assert!(fee >= 0 && fee * whole <= exact_fee && exact_fee < (fee + 1) * whole);

            // Payouts are in rule order, positive, and name each recipient once.
            let order: Vec<i64> = rules.rules().iter().map(|rule| rule.recipient_id).collect();
            let positions: Option<Vec<usize>> = split
                .payouts
                .iter()
                .map(|(id, _)| order.iter().position(|recipient| recipient == id))
                .collect();
            prop_assert!(positions.is_some(), "a payout to someone without a rule");
            let positions = positions.unwrap_or_default();
            prop_assert!(positions.windows(2).all(|pair| pair[0] < pair[1]));
            prop_assert!(split.payouts.iter().all(|(_, part)| part.is_positive()));

            let part: HashMap<i64, i128> = split
                .payouts
                .iter()
                .map(|(id, part)| (*id, i128::from(part.fen())))
                .collect();
            let part = |id: i64| part.get(&id).copied().unwrap_or(0);

            // Fixed amounts: each the smaller of its amount and what is left.
            let mut left = net - fee;
            for rule in rules.rules() {
                if let Share::Fixed(amount) = rule.share {
                    let paid = part(rule.recipient_id);
                    prop_assert!(paid <= i128::from(amount.fen()));
                    prop_assert_eq!(paid, i128::from(amount.fen()).min(left));
                    left -= paid;
                }
            }
            // Percentages: at most the exact share of what is left after the
            // fee and the fixed amounts, and less than a fen below it.
            for rule in rules.rules() {
                if let Share::Percent(bp) = rule.share {
                    let paid = part(rule.recipient_id);
                    let exact = left * i128::from(bp);
                    prop_assert!(paid * whole <= exact, "{} above its share", paid);
                    prop_assert!(paid * whole > exact - whole, "{} a fen or more below its share", paid);
                }
            }
        }
    }
}
