#!/usr/bin/env bash
# Run Alliance's whole test suite against a real PostgreSQL.
# Usage: ./scripts/test.sh [extra args passed to the test runner, e.g. a name filter]
# Exits non-zero if anything fails. Never prompts (safe with CI=true and no stdin).
set -euo pipefail
cd "$(dirname "$0")/.."

# The test harness connects here to build the migrated template database
# `alliance_template` and to clone one database per test from it.
export ALLIANCE_TEST_ADMIN_URL="${ALLIANCE_TEST_ADMIN_URL:-postgres://alliance:alliance@127.0.0.1:5432/postgres}"

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

say() { printf '[test] %s\n' "$*"; }

# shellcheck source=scripts/build-env.sh
source scripts/build-env.sh
ensure_build_env test

# The browser tests drive Debian's Chromium through chromedriver.
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
    say "installing chromium and chromium-driver for the browser tests"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver </dev/null
fi

# Screenshots of the portals should show Chinese, not empty boxes: a CJK font.
if command -v fc-list >/dev/null 2>&1 && [[ -z $(fc-list :lang=zh family) ]]; then
    say "installing a Chinese font (fonts-wqy-microhei) for the browser screenshots"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei </dev/null
fi

# The payout file tests validate ISO 20022 XML against its schema with xmllint.
if ! command -v xmllint >/dev/null 2>&1; then
    say "installing libxml2-utils (xmllint) for the payout file tests"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils </dev/null
fi

failed=()

if cargo nextest --version >/dev/null 2>&1; then
    say "cargo nextest run --all-targets${*:+ $*}"
    cargo nextest run --all-targets "$@" </dev/null || failed+=("cargo nextest run --all-targets")
else
    say "cargo test --all-targets${*:+ $*} (install cargo-nextest for faster runs)"
    cargo test --all-targets "$@" </dev/null || failed+=("cargo test --all-targets")
fi

# Neither of the above runs doctests.
say "cargo test --doc${*:+ $*}"
cargo test --doc "$@" </dev/null || failed+=("cargo test --doc")

if ((${#failed[@]})); then
    printf '[test] FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
say "all tests passed"
