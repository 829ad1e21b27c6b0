#!/usr/bin/env bash
# Run Alliance with demo data: PostgreSQL up, release build, migrate, seed, serve.
# Usage: ./scripts/run-demo.sh   (Ctrl-C stops the server)
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

say() { printf '[demo] %s\n' "$*"; }

# Rust: cargo from PATH, or from rustup's default place when PATH lacks it.
if ! command -v cargo >/dev/null 2>&1 && [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/cargo ]]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "[demo] error: cargo not found. Alliance needs Rust >= 1.89 (stable)." >&2
    echo "[demo] Install it with rustup (https://rustup.rs), open a new shell, and run this again." >&2
    exit 1
fi
rust_version=$(cargo --version | awk '{ print $2 }')
IFS=. read -r rust_major rust_minor _ <<<"$rust_version"
if ((rust_major == 1 && rust_minor < 89)); then
    echo "[demo] error: cargo $rust_version is too old; Alliance needs Rust >= 1.89 (rustup update stable)." >&2
    exit 1
fi

say "building (cargo build --release; a cold build takes several minutes)"
cargo build --release
bin="${CARGO_TARGET_DIR:-target}/release/alliance"

say "applying migrations"
"$bin" migrate
say "loading demo data"
# Kept for the banner: seed-demo's own summary, sign-ins included, so what the
# banner says cannot drift from what was seeded.
summary=$("$bin" seed-demo)
summary=${summary//$'\n'/$'\n'   } # indented for the banner

bind=${ALLIANCE_BIND:-127.0.0.1:8080}
host=${bind%:*}
port=${bind##*:}
case $host in
0.0.0.0 | '' | '[::]' | '::') host=127.0.0.1 ;;
esac
url="http://$host:$port"

cat <<BANNER

  ============================================================
   Alliance is starting with demo data

     $url

   health:  $url/healthz
   ready:   $url/readyz

   $summary
   (sign-in paths are under $url)

   Emails (invitations, password resets) go to ${ALLIANCE_OUTBOX_DIR:-./outbox}/
   as .eml files unless ALLIANCE_SMTP_URL is set.

   Stop with Ctrl-C.
  ============================================================

BANNER

exec "$bin" serve
