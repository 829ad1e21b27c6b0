#!/usr/bin/env bash
# Make this machine able to build Alliance: a C toolchain and pkg-config (ring
# compiles C), the libpq headers and library (pq-sys links -lpq), and Rust.
# Written for a fresh Debian machine run as root: installs the Debian packages
# when missing. Source it, then call `ensure_build_env TAG` (TAG prefixes its
# messages).

# Debian packages, by what shows they are installed.
build_env_missing_packages() {
    local missing=()
    command -v cc >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || missing+=(build-essential)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    [[ -e /usr/include/postgresql/libpq-fe.h ]] || missing+=(libpq-dev)
    ((${#missing[@]} == 0)) || printf '%s\n' "${missing[@]}"
}

ensure_build_env() {
    local tag=$1
    local missing
    mapfile -t missing < <(build_env_missing_packages)
    if ((${#missing[@]})); then
        if [[ $EUID -ne 0 ]]; then
            echo "[$tag] error: missing ${missing[*]}; run this as root, or install them with apt-get" >&2
            exit 1
        fi
        printf '[%s] installing %s (needed to build Alliance)\n' "$tag" "${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" </dev/null
    fi

    # Rust: cargo from PATH, or from rustup's default place when PATH lacks it.
    if ! command -v cargo >/dev/null 2>&1 && [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/cargo ]]; then
        export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "[$tag] error: cargo not found. Alliance needs Rust >= 1.89 (stable)." >&2
        echo "[$tag] Install it with rustup (https://rustup.rs), open a new shell, and run this again." >&2
        exit 1
    fi
    local rust_version rust_major rust_minor
    rust_version=$(cargo --version | awk '{ print $2 }')
    IFS=. read -r rust_major rust_minor _ <<<"$rust_version"
    if ((rust_major == 1 && rust_minor < 89)); then
        echo "[$tag] error: cargo $rust_version is too old; Alliance needs Rust >= 1.89 (rustup update stable)." >&2
        exit 1
    fi
}
