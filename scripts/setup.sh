#!/usr/bin/env bash
# Installs what the benchmark needs and is missing: wrk (Debian package), the runner's
# pinned Python environment (uv), and checks for Go. Safe to run again: it only
# installs what is absent.
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
uv sync --frozen --quiet
