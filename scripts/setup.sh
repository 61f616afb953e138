#!/usr/bin/env bash
# Installs what the benchmark needs and is missing: wrk and PostgreSQL (Debian packages),
# vegeta (go install, pinned), the runner's pinned Python environment (uv), and checks for
# Go and Node.js. Safe to run again: it only installs what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        echo "error: $* missing; install with: apt-get install -y $*" >&2
        exit 2
    fi
}

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# PostgreSQL for the database scenarios: the runner starts its own cluster (runner/measure/services.py)
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    missing+=(postgresql)
fi
if [ "${CONCBENCH_BROWSER:-0}" = 1 ]; then
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} with apt-get ..." >&2
    apt_install "${missing[@]}"
fi
if ! command -v go >/dev/null 2>&1; then
    echo "error: go not found; install Go (https://go.dev/doc/install) and try again" >&2
    exit 2
fi
if ! command -v node >/dev/null 2>&1; then
    echo "error: node not found; install Node.js 20 (https://nodejs.org/en/download) and try again" >&2
    exit 2
fi
# vegeta, the constant-rate load generator of open scenarios, at a pinned version
vegeta_version="v12.13.0"
if ! go version -m .tools/bin/vegeta 2>/dev/null | grep -q "tsenart/vegeta/v12[[:space:]]*$vegeta_version"; then
    echo "installing vegeta $vegeta_version with go install ..." >&2
    GOBIN="$PWD/.tools/bin" go install "github.com/tsenart/vegeta/v12@$vegeta_version"
fi
uv sync --frozen --quiet
