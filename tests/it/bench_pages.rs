//! `alliance bench pages` on the demo: every page it times answers with a 2xx,
//! and every GET route of the signed-in portals is in its table, so a page
//! added without a row (or one that errors) fails here.

use std::{collections::BTreeSet, fs, path::Path, process::Command};

use alliance::{crypto::Keys, demo};

use crate::harness::TestDb;

const SECRET_KEY: &str = "bench pages test secret key, over 32 characters";

/// Routes of the portals that are not pages a signed-in person reads: the
/// ways in, and the phone check a verified member is sent on from.
const NOT_PAGES: &[&str] = &[
    "/consumer/sign-up",
    "/consumer/sign-in/code",
    "/consumer/password-reset",
    "/consumer/phone/verify",
];

/// Routes whose page needs a row the demo does not have: no application,
/// pending approval, export or open exchange quote.
const NOT_IN_THE_DEMO: &[&str] = &[
    "/platform/applications/{id}",
    "/platform/applications/{id}/approve",
    "/platform/approvals/{id}",
    "/platform/exports/{id:\\d+}",
    "/platform/exports/{id:\\d+}/download",
    "/merchant/approvals/{id}",
    "/merchant/exports/{id:\\d+}",
    "/merchant/exports/{id:\\d+}/download",
    "/consumer/exchange/quote/{id}",
    "/consumer/exchange/done/{quote_id}",
];

/// Every `#[get("…")]` under `src/portals/<portal>/`, with its portal's prefix.
fn declared_routes() -> BTreeSet<String> {
    let mut routes = BTreeSet::new();
    for portal in ["platform", "merchant", "consumer"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/portals")
            .join(portal);
        collect(&dir, portal, &mut routes);
    }
    routes
}

fn collect(dir: &Path, portal: &str, routes: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, portal, routes);
            continue;
        }
        let source = fs::read_to_string(&path).unwrap();
        for line in source.lines() {
            if let Some(rest) = line.trim().strip_prefix("#[get(\"") {
                let route = rest.split("\")]").next().unwrap().replace("\\\\", "\\");
                routes.insert(format!("/{portal}{route}"));
            }
        }
    }
}

#[test]
fn bench_pages_times_every_page_of_the_demo_with_a_2xx() {
    let db = TestDb::new();
    demo::seed(&mut db.conn(), &Keys::derive(SECRET_KEY)).unwrap();
    let json = std::env::temp_dir().join(format!("bench-pages-{}.json", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_alliance"))
        .args([
            "bench",
            "pages",
            "--repeat",
            "1",
            "--skip-pgbench",
            "--json",
        ])
        .arg(&json)
        .env_remove("ALLIANCE_ENV")
        .env_remove("ALLIANCE_BENCH_PASSWORD")
        .env("ALLIANCE_SECRET_KEY", SECRET_KEY)
        .env("ALLIANCE_DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run: serde_json::Value = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    fs::remove_file(&json).unwrap();

    let mut timed = BTreeSet::new();
    let mut absent = BTreeSet::new();
    for page in run["pages"].as_array().unwrap() {
        let route = page["route"].as_str().unwrap().to_owned();
        if page["path"].as_str().unwrap().is_empty() {
            absent.insert(route);
            continue;
        }
        let status = page["status"].as_u64().unwrap();
        assert!(
            (200..300).contains(&status),
            "{} answered {status}:\n{stdout}",
            page["path"]
        );
        timed.insert(route);
    }
    let expected_absent: BTreeSet<String> =
        NOT_IN_THE_DEMO.iter().map(|r| (*r).to_owned()).collect();
    assert_eq!(absent, expected_absent, "{stdout}");

    let listed: BTreeSet<String> = timed.union(&absent).cloned().collect();
    let missing: Vec<String> = declared_routes()
        .into_iter()
        .filter(|route| !listed.contains(route) && !NOT_PAGES.contains(&route.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes bench pages does not time: {missing:?}"
    );
    let jobs = run["jobs"].as_array().unwrap();
    assert!(jobs.iter().any(|j| j["job"] == "settlement run"));
    assert!(jobs.iter().all(|j| j["committed"] == false));
}
