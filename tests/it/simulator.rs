//! The simulator on a fixed budget: seeded random sequences of everything members,
//! merchants and operators do, against a real PostgreSQL, with every invariant
//! checked after every step. `ALLIANCE_SIM_SEEDS`, `ALLIANCE_SIM_FIRST_SEED` and
//! `ALLIANCE_SIM_STEPS` run more (`alliance simulate` does the same from the
//! command line).

use alliance::{
    crypto::Keys,
    sim::{self, Amount, Job, Op, Outcome, Pay, SimulateArgs, Step, Template},
};

use crate::harness::admin_url;

fn from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn keys() -> Keys {
    Keys::derive("simulator test secret key, at least 32 characters")
}

fn template() -> Template {
    Template::build(&admin_url(), &keys()).expect("the demo alliance seeds")
}

#[test]
fn seeded_sequences_break_no_invariant_and_fail_no_request() {
    let template = template();
    let args = SimulateArgs {
        seed: from_env("ALLIANCE_SIM_FIRST_SEED", 1),
        seeds: from_env("ALLIANCE_SIM_SEEDS", 3),
        steps: usize::try_from(from_env("ALLIANCE_SIM_STEPS", 150)).expect("a step count"),
        concurrency: 4,
        shrink_runs: 30,
    };
    let report = sim::run(&template, &keys(), &args, |line| eprintln!("{line}"))
        .expect("the simulation runs");
    eprintln!("{report}");
    assert!(report.failure.is_none(), "{report}");
    assert_eq!(report.seeds, args.seeds);
    assert!(
        report.done * 2 > report.steps,
        "at least half the steps did something: {report}"
    );
}

/// The demo's programmes by their index in `World::merchants` (and `programs`).
const BREW: usize = 0;
const HOTEL: usize = 5;
const MILES: usize = 6;
const MART: usize = 1;
/// BREW's 640-point reward.
const BREW_REWARD: usize = 0;

/// Plays a named scenario and asserts that nothing broke and that the steps
/// at `must_be_done` were carried out (not refused or skipped), so that the
/// scenario really reaches the state it is about.
fn assert_holds(name: &str, steps: &[Step], must_be_done: &[usize]) {
    let template = template();
    let played = sim::play(&template, &keys(), name, steps).expect("the scenario runs");
    let log: Vec<String> = steps
        .iter()
        .zip(&played.outcomes)
        .map(|(step, outcomes)| format!("{step:?} -> {outcomes:?}"))
        .collect();
    assert!(
        played.broken.is_none(),
        "{name} broke: {:#?}\n{log:#?}",
        played.broken
    );
    for &at in must_be_done {
        assert!(
            played.outcomes[at]
                .iter()
                .all(|o| matches!(o, Outcome::Done(_))),
            "{name}: step {at} was not carried out\n{log:#?}"
        );
    }
}

/// Every point of a programme the member holds, exchanged into MART's (so
/// what comes next starts from an empty wallet, or one below the programme's
/// exchange minimum).
fn empty_wallet(member: usize, program: usize) -> Step {
    vec![Op::Exchange {
        member,
        from: program,
        to: MART,
        amount: Amount::Share(10_000),
        execute: true,
    }]
}

#[test]
fn hole_1_a_group_trading_across_a_rate_publication_gains_nothing() {
    let group = 0..10;
    let mut steps: Vec<Step> = group.clone().map(|m| empty_wallet(m, MILES)).collect();
    // A new day, so that the demo's purchases of today count against no limit.
    steps.push(vec![Op::Advance { minutes: 24 * 60 }]);
    let mut trades = Vec::new();
    for m in group.clone() {
        trades.extend([steps.len(), steps.len() + 1]);
        // ¥60,000 earns at most 90,000 points at the top tier's bonus: within
        // the day's limit whatever tier the demo's history brought the member to.
        steps.push(vec![Op::Earn {
            member: m,
            merchant: HOTEL,
            fen: 6_000_000,
        }]);
        steps.push(vec![Op::Exchange {
            member: m,
            from: HOTEL,
            to: MILES,
            amount: Amount::Points(60_000),
            execute: true,
        }]);
    }
    steps.push(vec![Op::Job(Job::PublishRates)]);
    for m in group {
        // Back in two halves: half of it, then all that is left.
        for share in [5_000, 10_000] {
            trades.push(steps.len());
            steps.push(vec![Op::Exchange {
                member: m,
                from: MILES,
                to: HOTEL,
                amount: Amount::Share(share),
                execute: true,
            }]);
        }
    }
    assert_holds("hole1", &steps, &trades);
}

#[test]
fn hole_2_points_held_when_their_order_is_refunded_do_not_come_back_on_cancel() {
    let m = 23;
    assert_holds(
        "hole2",
        &[
            empty_wallet(m, BREW),
            vec![Op::Earn {
                member: m,
                merchant: BREW,
                fen: 100_000,
            }],
            vec![Op::Redeem {
                member: m,
                reward: BREW_REWARD,
                pay: Pay::OwnPoints,
            }],
            vec![Op::Refund {
                member: m,
                pick: 0,
                share_bp: None,
            }],
            vec![Op::Cancel { member: m, pick: 0 }],
        ],
        &[1, 2, 3, 4],
    );
}

#[test]
fn a_full_refund_racing_a_redemption_hold_is_a_clean_outcome() {
    let mut steps = Vec::new();
    for m in 10..18 {
        steps.push(empty_wallet(m, BREW));
        steps.push(vec![Op::Earn {
            member: m,
            merchant: BREW,
            fen: 100_000,
        }]);
    }
    for _ in 0..5 {
        steps.push(
            (10..18)
                .flat_map(|m| {
                    [
                        Op::Redeem {
                            member: m,
                            reward: BREW_REWARD,
                            pay: Pay::OwnPoints,
                        },
                        Op::Refund {
                            member: m,
                            pick: 0,
                            share_bp: None,
                        },
                    ]
                })
                .collect(),
        );
    }
    assert_holds("refund_race", &steps, &[]);
}

#[test]
fn members_creating_and_cancelling_redemptions_of_one_reward_at_once_never_fail() {
    let members = 0..8;
    let mut steps: Vec<Step> = members
        .clone()
        .map(|m| {
            vec![Op::Earn {
                member: m,
                merchant: BREW,
                fen: 1_000_000,
            }]
        })
        .collect();
    for _ in 0..10 {
        steps.push(
            members
                .clone()
                .map(|m| Op::Redeem {
                    member: m,
                    reward: BREW_REWARD,
                    pay: Pay::OwnPoints,
                })
                .collect(),
        );
        steps.push(
            members
                .clone()
                .map(|m| Op::Cancel { member: m, pick: 0 })
                .collect(),
        );
        steps.push(
            members
                .clone()
                .flat_map(|m| {
                    [
                        Op::Redeem {
                            member: m,
                            reward: BREW_REWARD,
                            pay: Pay::OwnPoints,
                        },
                        Op::Cancel { member: m, pick: 1 },
                    ]
                })
                .collect(),
        );
    }
    assert_holds("create_cancel", &steps, &[]);
}
