//! What a simulated participant does, and how a seed chooses it.
//!
//! An operation names what it acts on by index into the [`World`] (member 3,
//! merchant 1) or by "the n-th of its kind" at the time it runs (the member's
//! 2nd refundable order, its 1st held voucher), never by a database id. So any
//! sub-list of a sequence is still a valid sequence, which is what lets a
//! failure be shrunk by dropping operations.

use std::fmt;

use rand::{Rng, rngs::StdRng};

use super::world::World;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A purchase of `fen` by a member at a merchant.
    Earn {
        member: usize,
        merchant: usize,
        fen: i64,
    },
    /// Refunds part (`share_bp` of what is left) or all of one of the member's
    /// orders, the `pick`-th newest.
    Refund {
        member: usize,
        pick: usize,
        share_bp: Option<u16>,
    },
    /// Quotes some of the member's available `from` points into `to`, and
    /// executes the quote at once or leaves it for `ExecuteQuote`.
    Exchange {
        member: usize,
        from: usize,
        to: usize,
        amount: Amount,
        execute: bool,
    },
    /// Executes one of the quotes left open, however old it is by now.
    ExecuteQuote { pick: usize },
    /// Orders a reward.
    Redeem {
        member: usize,
        reward: usize,
        pay: Pay,
    },
    /// The merchant serves one of the member's held vouchers, the `pick`-th newest.
    Fulfil { member: usize, pick: usize },
    /// The member calls off one of its held vouchers, the `pick`-th newest.
    Cancel { member: usize, pick: usize },
    /// Time passes.
    Advance { minutes: i64 },
    /// One of the server's periodic jobs runs now.
    Job(Job),
    /// The merchant's bank transfer for its oldest open collection arrives:
    /// all of what is owed, or `share_bp` of it.
    PayCollection {
        merchant: usize,
        share_bp: Option<u16>,
    },
    /// Finance confirms a deposit top-up the merchant submitted.
    TopUp { merchant: usize, fen: i64 },
    /// Finance deducts from a deposit (maker) and an admin approves (checker).
    Deduct { merchant: usize, fen: i64 },
    /// An operator starts a merchant's exit from the alliance, with a notice.
    Exit { merchant: usize, notice_days: i64 },
    /// Finance asks for a merchant's deposit back (refused while it covers anything).
    RefundDeposit { merchant: usize },
    /// An operator overrides a programme's published values by `sell_bp` and
    /// `buy_bp` of the settlement value (negative: below it).
    Override {
        program: usize,
        sell_bp: i32,
        buy_bp: i32,
    },
}

/// How many points an exchange gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// This share of what the member may spend, in basis points.
    Share(u16),
    Points(i64),
}

/// How a redemption is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pay {
    /// As the catalog proposes, with `extra_bp` more of the first leg's points
    /// when non-zero (an overpaying mix the service must refuse).
    Proposed { extra_bp: u16 },
    /// The reward's points price, all in its merchant's own points.
    OwnPoints,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    ExpireHolds,
    ExpireVouchers,
    ExpirePoints,
    PublishRates,
    Settle,
    /// Converts the points of merchants whose exit notice has ended.
    ConvertExits,
    /// Pays the pending payouts in a batch; the bank fails one in `fail_every`.
    Payouts {
        fail_every: u8,
    },
}

impl Op {
    /// Whether the operation must run alone in its step: it moves the clock or
    /// acts on the whole alliance, so running it beside others would make the
    /// step's outcome depend on thread timing more than it needs to.
    pub fn runs_alone(&self) -> bool {
        matches!(self, Self::Advance { .. } | Self::Job(_))
    }

    /// A random operation, weighted towards what members do most.
    pub fn random(rng: &mut StdRng, world: &World) -> Self {
        let member = rng.random_range(0..world.members.len());
        let merchant = rng.random_range(0..world.merchants.len());
        let program = rng.random_range(0..world.programs.len());
        match rng.random_range(0..100) {
            0..3 => Self::PayCollection {
                merchant,
                share_bp: rng.random_bool(0.3).then(|| rng.random_range(1..10_000)),
            },
            3..22 => Self::Earn {
                member,
                merchant,
                fen: *[100, 999, 9_999, 10_000, 25_000, 100_000, 1_000_000]
                    .get(rng.random_range(0..7))
                    .expect("in range"),
            },
            22..30 => Self::Refund {
                member,
                pick: rng.random_range(0..4),
                share_bp: rng.random_bool(0.5).then(|| rng.random_range(1..10_000)),
            },
            30..46 => Self::Exchange {
                member,
                from: program,
                to: rng.random_range(0..world.programs.len()),
                amount: Amount::Share(rng.random_range(500..=10_000)),
                execute: rng.random_bool(0.8),
            },
            46..50 => Self::ExecuteQuote {
                pick: rng.random_range(0..4),
            },
            50..62 => Self::Redeem {
                member,
                reward: rng.random_range(0..world.rewards.len().max(1)),
                pay: match rng.random_range(0..10) {
                    0..2 => Pay::Proposed {
                        extra_bp: rng.random_range(1..5_000),
                    },
                    2..4 => Pay::OwnPoints,
                    _ => Pay::Proposed { extra_bp: 0 },
                },
            },
            62..68 => Self::Fulfil {
                member,
                pick: rng.random_range(0..3),
            },
            68..74 => Self::Cancel {
                member,
                pick: rng.random_range(0..3),
            },
            74..84 => Self::Advance {
                minutes: *[5, 30, 180, 24 * 60, 7 * 24 * 60, 40 * 24 * 60]
                    .get(rng.random_range(0..6))
                    .expect("in range"),
            },
            84..95 => Self::Job(match rng.random_range(0..7) {
                0 => Job::ExpireHolds,
                1 => Job::ExpireVouchers,
                2 => Job::ExpirePoints,
                3 => Job::PublishRates,
                4 => Job::Settle,
                5 => Job::ConvertExits,
                _ => Job::Payouts {
                    fail_every: rng.random_range(1..4),
                },
            }),
            95..97 => Self::TopUp {
                merchant,
                fen: rng.random_range(1..5_000_000),
            },
            97 => Self::Deduct {
                merchant,
                fen: rng.random_range(1..20_000_000),
            },
            98 if rng.random_bool(0.3) => Self::Exit {
                merchant,
                notice_days: rng.random_range(1..45),
            },
            98 => Self::RefundDeposit { merchant },
            _ => Self::Override {
                program: rng.random_range(0..world.merchants.len()),
                sell_bp: rng.random_range(-800..=300),
                buy_bp: rng.random_range(-300..=800),
            },
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Operations that run together, each on its own connection and thread.
pub type Step = Vec<Op>;

/// The steps of one seed: up to `concurrency` operations a step.
pub fn sequence(rng: &mut StdRng, world: &World, steps: usize, concurrency: usize) -> Vec<Step> {
    (0..steps)
        .map(|_| {
            let first = Op::random(rng, world);
            if first.runs_alone() {
                return vec![first];
            }
            let mut step = vec![first];
            for _ in 1..rng.random_range(1..=concurrency.max(1)) {
                let op = Op::random(rng, world);
                if !op.runs_alone() {
                    step.push(op);
                }
            }
            step
        })
        .collect()
}
