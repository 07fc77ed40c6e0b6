#!/usr/bin/env bash
# Every test nat-ingest has, against real servers: the one command README.md gives.
#
#   1. starts OpenSearch, Kafka and Elasticsearch (deploy/dev/servers.sh) in the
#      background,
#   2. checks that the shell scripts parse, unpacks rsyslog and loggen
#      (deploy/dev/real-senders.sh) and builds the crate, its tests and benches
#      while they come up,
#   3. waits for them, runs every test with the `integration` feature on
#      (unit, property, integration and end-to-end tests; benches run once each
#      as tests, so they cannot rot),
#   4. builds the fuzz targets and runs each for a short, bounded time,
#   5. stops the servers it started, also when something failed.
#
# Environment: NAT_INGEST_FUZZ_SECONDS (per target, default 20; 0 skips fuzzing),
# and the port and heap variables servers.sh documents.

set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly FUZZ_SECONDS="${NAT_INGEST_FUZZ_SECONDS:-20}"
readonly FUZZ_TARGETS=(header line grammar_seclog grammar_ar_session framer)
cd "$ROOT"

step() { printf '\n==> [%4ds] %s\n' "$SECONDS" "$*" >&2; }

started_servers=0
cleanup() {
    if [ "$started_servers" = 1 ]; then
        step "stopping the servers"
        deploy/dev/servers.sh stop all || true
    fi
}
trap cleanup EXIT

step "starting OpenSearch, Kafka and Elasticsearch in the background"
mkdir -p target
# Only servers this script launches are stopped at the end; ones already running
# (a developer's) are reused and left alone.
if ! deploy/dev/servers.sh status >/dev/null 2>&1; then
    started_servers=1
fi
deploy/dev/servers.sh start > target/dev-servers-start.log 2>&1 &
servers_pid=$!

# The bench and build scripts are run by hand (deploy/pgo-build.sh takes two release
# builds), so CI only checks that they still parse.
step "checking that the shell scripts parse"
for script in deploy/*.sh deploy/dev/*.sh benches/*.sh .ci/run; do
    bash -n "$script"
done

step "unpacking real syslog senders (rsyslog, loggen) for the end-to-end tests"
deploy/dev/real-senders.sh

step "building the crate, its tests and benches"
cargo build --features integration --all-targets

step "waiting for the servers"
if ! wait "$servers_pid"; then
    cat target/dev-servers-start.log >&2
    echo "starting the servers failed; see the log above" >&2
    exit 1
fi
deploy/dev/servers.sh wait

step "running every test"
cargo test --features integration --all-targets --no-fail-fast

if [ "$FUZZ_SECONDS" -gt 0 ]; then
    step "building the fuzz targets"
    if ! command -v cargo-fuzz >/dev/null 2>&1; then
        cargo install cargo-fuzz --locked
    fi
    # RUSTC_BOOTSTRAP lets the stable toolchain take cargo-fuzz's sanitizer flags.
    (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build -O)
    for target in "${FUZZ_TARGETS[@]}"; do
        step "fuzzing $target for ${FUZZ_SECONDS}s"
        corpus="target/fuzz-corpus/$target"
        mkdir -p "$corpus"
        (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "../$corpus" "seeds/$target" -- \
            -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 \
            | grep -E '^(Done|#[0-9]+.*(DONE|INITED)|stat::number_of_executed_units|==[0-9]+==|SUMMARY|panicked)' || true)
        if [ -n "$(ls fuzz/artifacts/"$target" 2>/dev/null)" ]; then
            echo "fuzz target $target found a crash: fuzz/artifacts/$target" >&2
            exit 1
        fi
    done
fi

step "all tests passed"
