//! The data set's people and history as the CSV files a merchant would bring:
//! per merchant its members, their opening balances (lots) and a year of
//! orders. Who belongs to which merchants, and with how many lots and orders,
//! is drawn once from a fixed seed; each file's figures from its own seed, so
//! a file is the same bytes on every run and the import finds it imported.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::index};

use crate::import::Kind;

use super::{Scale, merchants::Built};

/// Any fixed value will do; changing it changes every file, and a database
/// built before then refuses the new files' rows as other figures.
const RNG_SEED: u64 = 20_261_207;
/// Members' phone numbers are `150` and their number, eight digits.
const PHONE_PREFIX: &str = "150";
/// Members joined their merchant's own programme up to two years before the
/// merchant joined the alliance; their lots were earned up to 18 months before.
const JOINED_BEFORE_SECS: i64 = 2 * 365 * 86_400;
const EARNED_BEFORE_SECS: i64 = 540 * 86_400;
/// Lots lapse two to three years after the merchant joined: after any build
/// within a year of the first (the import refuses a lot already lapsed).
const EXPIRES_AFTER_DAYS: std::ops::RangeInclusive<i64> = 730..=1_095;
/// Orders happen over the year after the merchant joined.
const HISTORY_SECS: i64 = 365 * 86_400;

const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗",
];
const GIVEN_NAMES: [&str; 25] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "浩然", "子涵", "欣怡",
];

/// One member of one merchant, and how much history they bring.
struct Membership {
    member: usize,
    lots: usize,
    orders: usize,
}

/// One file to import and the units its import books.
pub(super) struct File {
    pub bytes: Vec<u8>,
    pub units: u64,
}

/// Who belongs to which merchant, with how many lots and orders.
pub(super) struct History<'a> {
    merchants: &'a [Built],
    /// By merchant, in member order.
    memberships: Vec<Vec<Membership>>,
}

impl<'a> History<'a> {
    pub fn plan(scale: &Scale, merchants: &'a [Built]) -> Self {
        let mut rng = StdRng::seed_from_u64(RNG_SEED);
        let mut memberships: Vec<Vec<Membership>> = merchants.iter().map(|_| Vec::new()).collect();
        let most = scale
            .most_merchants_per_member
            .clamp(1, merchants.len().max(1));
        if !merchants.is_empty() {
            for member in 0..scale.members {
                let count = rng.random_range(1..=most);
                for at in index::sample(&mut rng, merchants.len(), count) {
                    memberships[at].push(Membership {
                        member,
                        lots: rng.random_range(1..=scale.most_lots.max(1)),
                        orders: rng.random_range(0..=scale.most_orders),
                    });
                }
            }
        }
        Self {
            merchants,
            memberships,
        }
    }

    pub fn merchants(&self) -> &'a [Built] {
        self.merchants
    }

    /// The units every merchant's file of `kind` books.
    pub fn units(&self, kind: Kind) -> u64 {
        let all = self.memberships.iter().flatten();
        let units = match kind {
            // A member, and a member's lots, are one unit each.
            Kind::Members | Kind::Lots => all.count(),
            Kind::Orders => all.map(|m| m.orders).sum(),
        };
        units as u64
    }

    /// The merchant's file of `kind`.
    pub fn file(&self, merchant: &Built, kind: Kind) -> File {
        let memberships = &self.memberships[merchant.index];
        // Each file its own stream, so one file's draws never shift another's.
        let stream = match kind {
            Kind::Members => 0,
            Kind::Lots => 1,
            Kind::Orders => 2,
        };
        let mut rng = StdRng::seed_from_u64(RNG_SEED ^ ((merchant.index as u64) << 8 | stream));
        let mut csv = kind.columns().join(",");
        csv.push('\n');
        let mut units = 0;
        let mut order_number = 0;
        for membership in memberships {
            let phone = phone(membership.member);
            let at = |rng: &mut StdRng, range: std::ops::Range<i64>| {
                time(merchant.joined_at + Duration::seconds(rng.random_range(range)))
            };
            match kind {
                Kind::Members => {
                    let joined = at(&mut rng, -JOINED_BEFORE_SECS..0);
                    let name = name(membership.member);
                    writeln!(csv, "{phone},{name},,{joined}").expect("writing to a String");
                    units += 1;
                }
                Kind::Lots => {
                    for _ in 0..membership.lots {
                        let points = rng.random_range(50..=2_000);
                        let earned = at(&mut rng, -EARNED_BEFORE_SECS..0);
                        let days = rng.random_range(EXPIRES_AFTER_DAYS);
                        let expires = time(merchant.joined_at + Duration::days(days));
                        writeln!(csv, "{phone},{points},{earned},{expires}")
                            .expect("writing to a String");
                    }
                    units += 1;
                }
                Kind::Orders => {
                    for _ in 0..membership.orders {
                        order_number += 1;
                        let amount = rng.random_range(1_000..=30_000);
                        let occurred = at(&mut rng, 0..HISTORY_SECS);
                        let store = if merchant.stores.is_empty() {
                            String::new()
                        } else {
                            let at = rng.random_range(0..merchant.stores.len());
                            merchant.stores[at].to_string()
                        };
                        // One order in forty refunded in full, one in forty by half.
                        let refunded = match rng.random_range(0..40) {
                            0 => cny(amount),
                            1 => cny(amount / 2),
                            _ => String::new(),
                        };
                        writeln!(
                            csv,
                            "{phone},{}-{order_number:07},{},{occurred},{store},{refunded}",
                            merchant.code,
                            cny(amount)
                        )
                        .expect("writing to a String");
                        units += 1;
                    }
                }
            }
        }
        File {
            bytes: csv.into_bytes(),
            units,
        }
    }
}

fn phone(member: usize) -> String {
    format!("{PHONE_PREFIX}{member:08}")
}

fn name(member: usize) -> String {
    let surname = SURNAMES[member % SURNAMES.len()];
    let given = GIVEN_NAMES[member / SURNAMES.len() % GIVEN_NAMES.len()];
    format!("{surname}{given}")
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn cny(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}
