#!/usr/bin/env bash
# End-to-end throughput of `nat-ingest run` (release build) on loopback.
#
#   benches/run.sh udp [RATE] [COUNT]     # UDP flood, default 100000/s, 1000000 messages
#   benches/run.sh tcp [RATE] [COUNT]     # one TCP connection, newline framing
#   benches/run.sh octet [RATE] [COUNT]   # one TCP connection, octet counting
#
# Starts nat-ingest on free loopback ports with a temporary archive, sends a
# bounded, rate-limited flood with examples/flood.rs (loopback only, at most
# COUNT messages and 120 s), waits until the archive stops growing, and reports
# messages/s archived and the drops counted by the listeners, read from the
# metrics endpoint. The archive is removed afterwards.
#
# For UDP the sender uses UDP segmentation offload (flood --gso): the kernel cuts
# each buffer of equal-length lines into one datagram per line, so the listener
# receives exactly what a router would send, while the sender, which shares the
# two cores with the listener it measures, pays for the IP stack once per buffer.
#
# Environment: BENCH_CONFIG=FILE adds `--config FILE` (e.g. to try another
# archive.zstd_level); BENCH_NO_BUILD=1 skips the release build; BENCH_NO_GSO=1
# sends one datagram per send instead (sendmmsg batches); BENCH_ELASTICSEARCH=URL
# indexes into that Elasticsearch or OpenSearch instead of archiving (a dev server:
# the documents stay there), reported as "indexed", without a compression ratio. The
# binaries are taken from CARGO_TARGET_DIR (default target), as cargo puts them.
set -euo pipefail

mode=${1:-udp}
rate=${2:-100000}
count=${3:-1000000}
case "$mode" in udp | tcp | octet) ;; *) echo "mode must be udp, tcp or octet" >&2; exit 2 ;; esac

cd "$(dirname "$0")/.."
[[ ${BENCH_NO_BUILD:-} == 1 ]] || cargo build --release --quiet --bin nat-ingest --example flood
bin=${CARGO_TARGET_DIR:-target}/release/nat-ingest
flood=${CARGO_TARGET_DIR:-target}/release/examples/flood

work=$(mktemp -d)
log=$work/nat-ingest.log
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

scheme=$mode
[[ $mode == octet ]] && scheme=tcp
config=()
[[ -n ${BENCH_CONFIG:-} ]] && config=(--config "$BENCH_CONFIG")
sink=(--archive "$work/archive")
stored=archive_documents_written_total
stored_as=archived
if [[ -n ${BENCH_ELASTICSEARCH:-} ]]; then
    sink=(--elasticsearch "$BENCH_ELASTICSEARCH")
    stored=bulk_documents_indexed_total
    stored_as=indexed
fi
NAT_INGEST_LOG=info "$bin" run "${config[@]}" --listen "$scheme://127.0.0.1:0" "${sink[@]}" \
    --metrics 127.0.0.1:0 2>"$log" &
pid=$!

# The start line names the bound ports.
for _ in $(seq 100); do grep -q 'Started\.' "$log" && break; sleep 0.1; done
start_line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep 'Started\.')
listen=$(grep -o "$scheme://[0-9.:]*" <<<"$start_line" | head -1 | sed "s#$scheme://##")
metrics=$(grep -o 'metrics=[0-9.:]*' <<<"$start_line" | sed 's/metrics=//')

metric() { # sum of the samples of metric $1, in the snapshot $2 or a new one
    local text=${2:-$(curl -s "http://$metrics/metrics")}
    awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%.0f\n", s }' <<<"$text"
}

case "$mode" in
udp)
    target=(--udp "$listen")
    [[ ${BENCH_NO_GSO:-} == 1 ]] || target+=(--gso)
    ;;
tcp) target=(--tcp "$listen") ;;
octet) target=(--tcp "$listen" --octet) ;;
esac

sender=$("$flood" "${target[@]}" --rate "$rate" --count "$count" --max-secs 120)
# The flood renders its lines before its clock starts; time from its first send.
started=$(grep -o 'started_unix=[0-9.]*' <<<"$sender" | cut -d= -f2)

# Poll every 0.1 s until the archive has not grown for 1.5 s (longer than its
# 1 s flush interval). Two ends are kept: when the last document was parsed, and
# when the last one was written. The second includes up to one flush interval of
# waiting for the final frame, so the archived rate errs low; the parsed rate is
# what the pipeline kept up with. Either end is at least the sender's own.
snapshot=$(curl -s "http://$metrics/metrics")
written=$(metric $stored "$snapshot")
parsed=$(metric pipeline_documents_parsed_total "$snapshot")
finished=$(date +%s.%N)
parsed_finished=$finished
quiet=0
while ((quiet < 15)); do
    sleep 0.1
    snapshot=$(curl -s "http://$metrics/metrics")
    now=$(metric $stored "$snapshot")
    now_parsed=$(metric pipeline_documents_parsed_total "$snapshot")
    if [[ $now_parsed != "$parsed" ]]; then
        parsed=$now_parsed
        parsed_finished=$(date +%s.%N)
    fi
    if [[ $now != "$written" ]]; then
        written=$now
        finished=$(date +%s.%N)
        quiet=0
    else
        quiet=$((quiet + 1))
    fi
done

final=$(curl -s "http://$metrics/metrics")
received=$(metric listener_received_messages_total "$final")
dropped=$(metric listener_dropped_messages_total "$final")
archive_bytes=$(metric archive_written_bytes_total "$final")
raw_bytes=$(metric archive_uncompressed_bytes_total "$final")
kill -TERM "$pid"
wait "$pid"
pid=

elapsed=$(echo "$finished - $started" | bc -l)
parsed_elapsed=$(echo "$parsed_finished - $started" | bc -l)
echo "mode=$mode target_rate=$rate $sender"
ratio=
[[ $stored_as == archived ]] && ratio=$(printf ' ratio=%.1f' "$(echo "$raw_bytes / ($archive_bytes + 1)" | bc -l)")
printf 'received=%s dropped=%s parsed=%s parsed_per_sec=%.0f %s=%s %s_per_sec=%.0f%s\n' \
    "$received" "$dropped" "$parsed" "$(echo "$parsed / $parsed_elapsed" | bc -l)" \
    "$stored_as" "$written" "$stored_as" "$(echo "$written / $elapsed" | bc -l)" "$ratio"
echo "drops by cause:"
grep '^listener_dropped_messages_total' <<<"$final" || echo "  none"
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E 'Stopped\.' || true
