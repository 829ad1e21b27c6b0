#!/usr/bin/env bash
# Make PostgreSQL exist and run on this machine, and make the `alliance` role and
# database exist, so that ALLIANCE_DATABASE_URL (default
# postgres://alliance:alliance@127.0.0.1:5432/alliance) connects.
#
# Written for a fresh Debian (bookworm) machine without systemd, run as root:
# installs PostgreSQL with apt when missing, creates a cluster when there is none,
# starts it when stopped. Safe to run again and again. Either run it
# (./scripts/postgres.sh) or source it from another script.
#
# If ALLIANCE_DATABASE_URL is set to anything other than the default, this script
# creates no role or database: it only checks that the URL connects (and starts
# the local server first when the URL points at this machine).
# ALLIANCE_TEST_ADMIN_URL, when set, is checked the same way.
set -euo pipefail

ALLIANCE_PG_DEFAULT_URL="postgres://alliance:alliance@127.0.0.1:5432/alliance"

pg_say() { printf '[postgres] %s\n' "$*"; }
pg_die() {
    printf '[postgres] error: %s\n' "$*" >&2
    exit 1
}

# URL without its password, for messages.
pg_redact() { sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"; }

# Host and port of a postgres:// URL (libpq defaults when absent).
pg_url_host() {
    local rest=${1#*://}
    rest=${rest##*@}
    rest=${rest%%[/?]*}
    if [[ $rest == \[* ]]; then
        rest=${rest#[}
        printf '%s\n' "${rest%%]*}"
    else
        printf '%s\n' "${rest%%:*}"
    fi
}
pg_url_port() {
    local rest=${1#*://}
    rest=${rest##*@}
    rest=${rest%%[/?]*}
    rest=${rest##*]}
    if [[ $rest == *:* && -n ${rest##*:} ]]; then
        printf '%s\n' "${rest##*:}"
    else
        printf '5432\n'
    fi
}

# Run a command as the postgres OS user, from a directory it can read.
pg_as_postgres() {
    if [[ $EUID -eq 0 ]]; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
        fi
    elif [[ $(id -un) == postgres ]]; then
        (cd / && "$@")
    else
        pg_die "run this as root (it must act as the postgres OS user)"
    fi
}

pg_need_root() {
    [[ $EUID -eq 0 ]] || pg_die "$1 needs root; run this script as root"
}

pg_ready() { pg_isready -q -h "$1" -p "$2" >/dev/null 2>&1; }

pg_install() {
    if command -v pg_ctlcluster >/dev/null 2>&1 && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
        return
    fi
    pg_need_root "installing PostgreSQL"
    pg_say "PostgreSQL is not installed: installing it with apt-get (takes a minute)"
    export DEBIAN_FRONTEND=noninteractive
    # The cluster created by the package takes its encoding from the locale:
    # make it UTF-8 even where LANG is unset (as in a bare container).
    LANG=C.UTF-8 LC_ALL=C.UTF-8 apt-get update -q </dev/null
    LANG=C.UTF-8 LC_ALL=C.UTF-8 apt-get install -y -q postgresql postgresql-contrib </dev/null
}

pg_install_client() {
    command -v psql >/dev/null 2>&1 && command -v pg_isready >/dev/null 2>&1 && return
    pg_need_root "installing the PostgreSQL client"
    pg_say "psql is not installed: installing postgresql-client with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q </dev/null
    apt-get install -y -q postgresql-client </dev/null
}

# Print "version cluster status" of the cluster listening on port $1, if any.
pg_cluster_on_port() {
    pg_lsclusters -h 2>/dev/null | awk -v port="$1" '$3 == port { print $1, $2, $4; exit }'
}

pg_start_local_server() {
    local host=$1 port=$2 found version cluster status
    if pg_ready "$host" "$port"; then
        pg_say "server is accepting connections on $host:$port"
        return
    fi

    pg_install
    found=$(pg_cluster_on_port "$port")
    if [[ -z $found ]]; then
        if [[ -n $(pg_lsclusters -h 2>/dev/null) ]]; then
            pg_lsclusters >&2
            pg_die "no PostgreSQL cluster uses port $port (see the list above); set ALLIANCE_DATABASE_URL to one that does"
        fi
        pg_need_root "creating a PostgreSQL cluster"
        version=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' | awk -F/ '{ print $5 }' | sort -V | tail -n 1)
        [[ -n $version ]] || pg_die "cannot find the postgres server under /usr/lib/postgresql"
        pg_say "no cluster exists: creating cluster $version/main on port $port"
        LANG=C.UTF-8 LC_ALL=C.UTF-8 pg_createcluster --locale C.UTF-8 --encoding UTF8 --port "$port" "$version" main
        found=$(pg_cluster_on_port "$port")
        [[ -n $found ]] || pg_die "pg_createcluster did not create a cluster on port $port"
    fi
    read -r version cluster status <<<"$found"

    if [[ $status != online* ]]; then
        pg_need_root "starting PostgreSQL"
        pg_say "starting cluster $version/$cluster"
        # (pg_ctlcluster itself clears a stale postmaster.pid left by a snapshot.)
        pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start ||
            pg_die "could not start cluster $version/$cluster; see /var/log/postgresql/postgresql-$version-$cluster.log"
    fi

    pg_say "waiting for $host:$port to accept connections"
    for _ in $(seq 1 60); do
        if pg_ready "$host" "$port"; then
            pg_say "server is accepting connections on $host:$port"
            return
        fi
        sleep 0.5
    done
    pg_die "PostgreSQL did not accept connections on $host:$port within 30 s; see /var/log/postgresql/"
}

# Create (or repair) the role alliance/alliance and the database alliance it owns.
pg_create_role_and_database() {
    local port=$1 url=$2
    if [[ $EUID -ne 0 && $(id -un) != postgres ]] || ! id postgres >/dev/null 2>&1; then
        # Cannot act as the postgres OS user (not root, or a server not installed
        # by apt here): fine if the role and database are already there.
        if psql -X -q -At -w "$url" -c 'select 1' </dev/null >/dev/null 2>&1; then
            pg_say "role 'alliance' and database 'alliance' already work; not touching them"
            return
        fi
        pg_die "cannot create role 'alliance' and database 'alliance': run this script as root"
    fi
    pg_say "making sure role 'alliance' and database 'alliance' exist"
    pg_as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres <<'SQL'
SET client_min_messages = warning;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'alliance') THEN
        CREATE ROLE alliance LOGIN CREATEDB PASSWORD 'alliance';
    ELSE
        ALTER ROLE alliance LOGIN CREATEDB PASSWORD 'alliance';
    END IF;
END
$$;
-- UTF-8 whatever template1 happens to be (a cluster made where LANG was unset is SQL_ASCII).
SELECT CASE
         WHEN pg_encoding_to_char(encoding) = 'UTF8'
           THEN 'CREATE DATABASE alliance OWNER alliance'
         ELSE 'CREATE DATABASE alliance OWNER alliance TEMPLATE template0 ENCODING ''UTF8'' LOCALE ''C.UTF-8'''
       END
  FROM pg_database
 WHERE datname = 'template1'
   AND NOT EXISTS (SELECT FROM pg_database WHERE datname = 'alliance')
\gexec
SELECT 'ALTER DATABASE alliance OWNER TO alliance'
  FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
 WHERE d.datname = 'alliance' AND r.rolname <> 'alliance'
\gexec
SQL
}

pg_check_connects() {
    local what=$1 url=$2
    if ! psql -X -q -At -w -v ON_ERROR_STOP=1 "$url" -c 'select 1' </dev/null >/dev/null; then
        pg_die "cannot connect to $what ($(pg_redact "$url"))"
    fi
    pg_say "$what connects: $(pg_redact "$url")"
}

pg_main() {
    local url=${ALLIANCE_DATABASE_URL:-$ALLIANCE_PG_DEFAULT_URL}
    local host port
    host=$(pg_url_host "$url")
    port=$(pg_url_port "$url")

    case $host in
    127.0.0.1 | localhost | ::1 | '' | /*)
        pg_start_local_server 127.0.0.1 "$port"
        ;;
    *)
        pg_say "ALLIANCE_DATABASE_URL points at $host: not managing a local server"
        pg_install_client
        ;;
    esac

    if [[ $url == "$ALLIANCE_PG_DEFAULT_URL" ]]; then
        pg_create_role_and_database "$port" "$url"
    else
        pg_say "ALLIANCE_DATABASE_URL is set: leaving roles and databases as they are"
    fi

    pg_check_connects "ALLIANCE_DATABASE_URL" "$url"
    if [[ -n ${ALLIANCE_TEST_ADMIN_URL:-} ]]; then
        pg_check_connects "ALLIANCE_TEST_ADMIN_URL" "$ALLIANCE_TEST_ADMIN_URL"
    fi
}

pg_main
