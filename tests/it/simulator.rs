//! The simulator on a fixed budget: seeded random sequences of everything members,
//! merchants and operators do, against a real PostgreSQL, with every invariant
//! checked after every step. `ALLIANCE_SIM_SEEDS`, `ALLIANCE_SIM_FIRST_SEED` and
//! `ALLIANCE_SIM_STEPS` run more (`alliance simulate` does the same from the
//! command line).

use alliance::{
    crypto::Keys,
    sim::{self, SimulateArgs, Template},
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
        report.done > report.steps,
        "most steps did something: {report}"
    );
}
