#!/usr/bin/env bash
# Fetches real syslog senders for the end-to-end tests, without installing them as
# the system logger: rsyslog (and the two libraries it needs) and syslog-ng's loggen
# (syslog-ng-core and four libraries) from Debian's packages, unpacked under
# target/real-senders/root. Idempotent; prints the root directory.
#
# loggen runs from there with
#   LD_LIBRARY_PATH=$ROOT/usr/lib/syslog-ng:$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu
#   SYSLOGNG_PREFIX=$ROOT/usr
#
# rsyslog and syslog-ng conflict as system loggers, so neither is installed with
# apt-get install: `apt-get download` and `dpkg-deb -x` only unpack the files.

set -euo pipefail

readonly ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly OUT="${NAT_INGEST_REAL_SENDERS_DIR:-$ROOT_DIR/target/real-senders}"
readonly PACKAGES=(
    rsyslog libestr0 libfastjson4
    syslog-ng-core libivykis0 libnet1 libpcre3 libwrap0
)

if [ -x "$OUT/root/usr/sbin/rsyslogd" ] && [ -x "$OUT/root/usr/bin/loggen" ]; then
    echo "$OUT/root"
    exit 0
fi

mkdir -p "$OUT/debs" "$OUT/root"
cd "$OUT/debs"
if ! apt-get download "${PACKAGES[@]}" >/dev/null 2>&1; then
    # A fresh machine has no package lists yet.
    apt-get update -qq >/dev/null
    apt-get download "${PACKAGES[@]}" >/dev/null
fi
for deb in ./*.deb; do
    dpkg-deb -x "$deb" "$OUT/root"
done
echo "$OUT/root"
