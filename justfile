# Concurrency benchmarks for FastAPI, Flask, Go and Node. `./just --list` shows every recipe.
set shell := ["bash", "-euo", "pipefail", "-c"]

runner := "uv run --frozen --quiet python -m runner"

# show the recipes
default:
    @just --list

# install what is missing: wrk and PostgreSQL (apt-get), vegeta (go install, pinned), the runner's Python environment (uv); checks Go and Node
setup:
    @scripts/setup.sh

# measure a suite (all = default) and render its report; extra args go to the runner (--resume)
bench SUITE="all" *ARGS: setup
    {{runner}} bench {{SUITE}} {{ARGS}}

# render reports/<suite>.md and .html from the stored raw results, without measuring
report *SUITES: setup
    {{runner}} report {{SUITES}}

# conformance check of every case of a suite, no load
verify SUITE="quick": setup
    {{runner}} verify {{SUITE}}

# the difference between two stored runs (run folders under reports/raw/<suite>/), row by row
compare A B: setup
    {{runner}} compare {{A}} {{B}}

# your own ASGI app under load, route by route: where each runs and what limits it (docs/app.md)
app SPEC: setup
    {{runner}} app {{SPEC}}

# implementations, their servers and endpoints, and the suites
list: setup
    {{runner}} list

# the test suite: unit, conformance against real servers, faults, the browser, one end-to-end quick run
test *ARGS:
    @CONCBENCH_BROWSER=1 scripts/setup.sh
    uv run --frozen --quiet pytest {{ARGS}}
