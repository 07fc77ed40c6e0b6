#!/usr/bin/env bash
# Throughput of `nat-ingest replay` (release build), loopback only, bounded.
#
#   benches/replay.sh pipeline [LOOPS]   # file → pipeline → archive, next to `parse` on the same lines
#   benches/replay.sh tcp [LOOPS]        # --to tcp:// (octet counting), one connection, into a discarding reader
#   benches/replay.sh rate [RATE]        # --rate RATE for 10 s into a UDP socket: the achieved rate
#
# The input is benches/data/huawei-sessions-20k.log replayed LOOPS times
# (default 50, i.e. one million messages). Each run is capped at 120 s. The
# numbers are replay's own summary line (sent, elapsed, rate); for `pipeline`
# also the wall time of `parse` over the same lines, for comparison.
#
# Environment: BENCH_NO_BUILD=1 skips the release build. The binary is taken from
# CARGO_TARGET_DIR (default target), as cargo puts it: CARGO_TARGET_DIR=target/pgo
# BENCH_NO_BUILD=1 measures the build of deploy/pgo-build.sh.
set -euo pipefail

mode=${1:-pipeline}
case "$mode" in pipeline | tcp | rate) ;; *) echo "mode must be pipeline, tcp or rate" >&2; exit 2 ;; esac

cd "$(dirname "$0")/.."
[[ ${BENCH_NO_BUILD:-} == 1 ]] || cargo build --release --quiet --bin nat-ingest
bin=${CARGO_TARGET_DIR:-target}/release/nat-ingest
data=benches/data/huawei-sessions-20k.log

work=$(mktemp -d)
reader=
cleanup() {
    if [[ -n $reader ]] && kill -0 "$reader" 2>/dev/null; then kill "$reader"; wait "$reader" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
export NAT_INGEST_LOG=warn

case "$mode" in
pipeline)
    loops=${2:-50}
    files=()
    for _ in $(seq "$loops"); do files+=("$data"); done
    echo "replay --to pipeline, $loops x $(wc -l <"$data") lines:"
    timeout 120 "$bin" replay --archive "$work/archive" --timezone UTC --loop "$loops" "$data"
    echo "parse, the same lines:"
    start=$(date +%s.%N)
    timeout 120 "$bin" parse --timezone UTC "${files[@]}" >/dev/null
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" -v n="$(($(wc -l <"$data") * loops))" \
        'BEGIN { printf "parse: %d lines in %.3fs, %.0f/s\n", n, e - s, n / (e - s) }'
    ;;
tcp)
    loops=${2:-50}
    # A reader that discards everything: measures replay, not a collector.
    python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
while c.recv(1 << 20): pass
' >"$work/port" &
    reader=$!
    for _ in $(seq 50); do [[ -s $work/port ]] && break; sleep 0.1; done
    echo "replay --to tcp://, $loops x $(wc -l <"$data") lines:"
    timeout 120 "$bin" replay --to "tcp://127.0.0.1:$(cat "$work/port")" --loop "$loops" "$data"
    ;;
rate)
    rate=${2:-100000}
    loops=$(((rate * 10 + 19999) / 20000))
    echo "replay --rate $rate for about 10 s into a UDP socket:"
    # Nobody reads the port: the datagrams are dropped by the kernel, which
    # costs replay nothing more than a real receiver would.
    python3 -c 'import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True); time.sleep(130)' >"$work/port" &
    reader=$!
    for _ in $(seq 50); do [[ -s $work/port ]] && break; sleep 0.1; done
    head -n $((rate * 10 / loops)) "$data" >"$work/input"
    timeout 120 "$bin" replay --to "udp://127.0.0.1:$(cat "$work/port")" --rate "$rate" --loop "$loops" "$work/input"
    ;;
esac
