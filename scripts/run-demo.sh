#!/usr/bin/env bash
# Run Alliance with demo data: PostgreSQL up, release build, migrate, seed, serve.
# Usage: ./scripts/run-demo.sh   (Ctrl-C stops the server)
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

say() { printf '[demo] %s\n' "$*"; }

# shellcheck source=scripts/build-env.sh
source scripts/build-env.sh
ensure_build_env demo

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
   Text messages (members' sign-up and sign-in codes) go to
   ${ALLIANCE_SMS_OUTBOX:-./sms-outbox}/ as .txt files unless ALLIANCE_SMS_URL is set.

   Stop with Ctrl-C.
  ============================================================

BANNER

exec "$bin" serve
