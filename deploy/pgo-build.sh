#!/usr/bin/env bash
# A release build of nat-ingest optimised with a profile of its own work
# (profile-guided optimisation), for production:
#
#   deploy/pgo-build.sh                   # builds target/pgo/release/nat-ingest
#   deploy/pgo-build.sh --bench           # and then runs the encode bench on it
#   deploy/pgo-build.sh --elasticsearch http://127.0.0.1:9200
#                                         # profiles the Elasticsearch sink too
#
# 1. Builds nat-ingest and the flood sender instrumented, in target/pgo-instrumented.
# 2. Runs them on committed data:
#    - `parse` over tests/fixtures/huawei/sample.log, 400 times: every Huawei header
#      form, both grammars, RFC 5424 and RFC 3164 senders, and lines that fail;
#    - `run`, fed over UDP, TCP and TCP with octet counting by benches/run.sh (the
#      flood's session lines), so that listeners, framing, queues and the archive
#      are profiled too: code a profile never saw is compiled as cold;
#    - with --elasticsearch URL, `run --elasticsearch URL` fed the same way, so
#      that the bulk sink is profiled as well. Give it a development server
#      (deploy/dev/servers.sh start opensearch): the 30,000 flood documents stay
#      in its indices. Without it the bulk sink is compiled as cold code. With it,
#      bulk body encoding (`cargo bench --bench bulk`, sessions-20k/body) measured
#      4.0M-5.1M documents/s against 4.3M-4.6M for a plain release build, i.e. the
#      same within this machine's noise, and far above what a server indexes.
#    The bench input, benches/data/huawei-sessions-20k.log, is not used: the
#    profile is not fitted to the figure it is judged by.
# 3. Merges the raw profiles with llvm-profdata (rustup component llvm-tools,
#    added when missing) into target/pgo/nat-ingest.profdata.
# 4. Builds again with the profile, in target/pgo.
#
# A profile fits the source it was taken from: after a change, build again.
# Takes two full release builds (about six minutes on two cores).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
bench=no
elasticsearch=
while (($#)); do
    case "$1" in
    --bench) bench=yes ;;
    --elasticsearch)
        elasticsearch=${2:?--elasticsearch needs a URL}
        shift
        ;;
    *)
        echo "usage: deploy/pgo-build.sh [--bench] [--elasticsearch URL]" >&2
        exit 2
        ;;
    esac
    shift
done

host=$(rustc -vV | sed -n 's/^host: //p')
profdata_tool=$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata
if [[ ! -x $profdata_tool ]]; then
    rustup component add llvm-tools
fi

raw=$root/target/pgo-instrumented/profiles
profile=$root/target/pgo/nat-ingest.profdata
rm -rf "$raw"
mkdir -p "$raw" "$(dirname "$profile")"

echo "pgo: building instrumented binaries" >&2
RUSTFLAGS="-Cprofile-generate=$raw" CARGO_TARGET_DIR=target/pgo-instrumented \
    cargo build --release --quiet --bin nat-ingest --example flood
instrumented=target/pgo-instrumented/release/nat-ingest
export LLVM_PROFILE_FILE=$raw/nat-ingest-%p-%m.profraw

echo "pgo: profiling parse" >&2
sample=tests/fixtures/huawei/sample.log
copies=()
for _ in $(seq 400); do copies+=("$sample"); done
"$instrumented" parse --timezone +08:00 --reference-time 2025-07-23T12:00:00+08:00 \
    "${copies[@]}" >/dev/null 2>&1

echo "pgo: profiling run (udp, tcp, octet)" >&2
for mode in udp tcp octet; do
    BENCH_NO_BUILD=1 CARGO_TARGET_DIR=target/pgo-instrumented \
        benches/run.sh "$mode" 50000 200000 >/dev/null
done
if [[ -n $elasticsearch ]]; then
    echo "pgo: profiling run --elasticsearch $elasticsearch" >&2
    BENCH_NO_BUILD=1 CARGO_TARGET_DIR=target/pgo-instrumented BENCH_ELASTICSEARCH=$elasticsearch \
        benches/run.sh tcp 20000 30000 >/dev/null
fi

"$profdata_tool" merge -o "$profile" "$raw"
echo "pgo: profile $profile ($(du -h "$profile" | cut -f1))" >&2

echo "pgo: building with the profile" >&2
RUSTFLAGS="-Cprofile-use=$profile" CARGO_TARGET_DIR=target/pgo \
    cargo build --release --quiet --bin nat-ingest --example flood
echo "pgo: built target/pgo/release/nat-ingest" >&2
echo "pgo: (CARGO_TARGET_DIR=target/pgo BENCH_NO_BUILD=1 benches/run.sh … measures it)" >&2

if [[ $bench == yes ]]; then
    RUSTFLAGS="-Cprofile-use=$profile" CARGO_TARGET_DIR=target/pgo \
        cargo bench --bench encode
fi
