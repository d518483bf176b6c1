# deploy/tagarela-settings.bash: the settings of an instance, sourced first by deploy/tagarela:
# their defaults and TAGARELA_* variables, the flags that set them (parse_flags), the usage text,
# and how they are passed on to the detached supervisor, the processes and a restart (passed).

# The settings of `start`, seeded from the environment (TAGARELA_<FLAG>). Empty means the binary's
# default: an empty setting is not passed on (see passed).
PORT="${TAGARELA_PORT:-5000}"
HOST="${TAGARELA_HOST:-127.0.0.1}"
WORKERS="${TAGARELA_WORKERS:-}"
DATA="${TAGARELA_DATA:-./data}"
FSYNC="${TAGARELA_FSYNC:-always}"
ECHO_PATH="${TAGARELA_ECHO_PATH:-}"
PBKDF2="${TAGARELA_PBKDF2_ITERATIONS:-}"
LOOPS="${TAGARELA_LOOPS:-}"
RPS="${TAGARELA_REQUESTS_PER_SECOND:-}"
BURST="${TAGARELA_REQUEST_BURST:-}"
FLUSH_DELAY="${TAGARELA_FLUSH_DELAY_MS:-}"
REQUEST_TIMEOUT="${TAGARELA_REQUEST_TIMEOUT_MS:-}"
HEARTBEAT_TIMEOUT="${TAGARELA_HEARTBEAT_TIMEOUT_MS:-}"
HUNG_GRACE="${TAGARELA_HUNG_GRACE_MS:-5000}"
COMPRESSION="${TAGARELA_COMPRESSION:-}"
COMPRESSION_THRESHOLD="${TAGARELA_COMPRESSION_THRESHOLD:-}"
DETACH=""
# Observability (issue 13): log format of every process (the supervisor's too; empty is text),
# slow-request threshold of the gateway.
LOG_FORMAT="${TAGARELA_LOG_FORMAT:-}"
SLOW_REQUEST="${TAGARELA_SLOW_REQUEST_MS:-}"
# One process's settings (`tagarela gateway|worker --help`): a worker's largest attachment, the
# Origins the gateway lets open /ws.
ATTACHMENT_BYTES_MAX="${TAGARELA_ATTACHMENT_BYTES_MAX:-}"
ALLOWED_ORIGINS="${TAGARELA_ALLOWED_ORIGINS:-}"
# Output coalescing (Benchmarks/README.md), only from flags: the processes read TAGARELA_FLUSH_*
# from the environment themselves, and Benchmarks/compare sets those for a previous build that may
# not know the flag (and would refuse it on its command line).
FLUSH_POLICY=""
FLUSH_SPACING=""
FLUSH_CLIENT_HOLD=""
FLUSH_REPLIES_PROMPTLY=""
ONCE=""
# Several hosts over NATS (README.md "Several hosts"): empty BUS is the one-machine instance.
BUS="${TAGARELA_BUS:-}"
CLUSTER="${TAGARELA_CLUSTER:-tagarela}"
ROLE="${TAGARELA_ROLE:-all}"
SHARDS="${TAGARELA_SHARDS:-}"
TOTAL_SHARDS="${TAGARELA_TOTAL_SHARDS:-}"
SHARD_LIST=()

# The settings passed on as they are, by flag: each is a flag of `start`, of the detached
# supervisor and (gateway_args, worker_args) of the processes that read it, and a line of the
# instance file, so restart and scale start the same instance again.
declare -A SETTING=(
  [port]=PORT [host]=HOST [fsync]=FSYNC [echo-path]=ECHO_PATH [pbkdf2-iterations]=PBKDF2 [loops]=LOOPS
  [requests-per-second]=RPS [request-burst]=BURST [flush-delay-ms]=FLUSH_DELAY
  [request-timeout-ms]=REQUEST_TIMEOUT [heartbeat-timeout-ms]=HEARTBEAT_TIMEOUT [hung-grace-ms]=HUNG_GRACE
  [log-format]=LOG_FORMAT [slow-request-ms]=SLOW_REQUEST
  [compression]=COMPRESSION [compression-threshold]=COMPRESSION_THRESHOLD
  [attachment-bytes-max]=ATTACHMENT_BYTES_MAX [allowed-origins]=ALLOWED_ORIGINS
  [flush-policy]=FLUSH_POLICY [flush-spacing-ms]=FLUSH_SPACING [flush-client-hold-ms]=FLUSH_CLIENT_HOLD
  [flush-replies-promptly]=FLUSH_REPLIES_PROMPTLY
)

usage() {
  cat <<'EOF'
Usage:
  deploy/tagarela start [--detach] [--port 5000] [--host 127.0.0.1] [--workers N] [--data ./data]
                        [--fsync always|interval|never] [--echo-path /echo]
                        [--pbkdf2-iterations N] [--loops N]
                        [--requests-per-second 50] [--request-burst 100] [--flush-delay-ms N]
                        [--request-timeout-ms 10000] [--heartbeat-timeout-ms 5000] [--hung-grace-ms 5000]
                        [--log-format text|json] [--slow-request-ms 1000]
                        [--compression on|off] [--compression-threshold 64]
                        [--attachment-bytes-max 524288] [--allowed-origins URL,URL]
                        [--flush-policy idle|fixed] [--flush-spacing-ms 0] [--flush-client-hold-ms 0]
                        [--flush-replies-promptly yes|no]
  deploy/tagarela start --bus nats://H:P[,nats://H:P...] [--cluster tagarela] [--role all|gateway|workers]
                        [--shards 0,1] [--total-shards N] [--port 5000] [--data ./data] [--detach] [...]
  deploy/tagarela stop|status|restart|logs [--data DIR]
  deploy/tagarela scale N [--data DIR]
  deploy/tagarela top [--data DIR] [--once]   (live view: connections, rates, p50/p99 latency, CPU, RSS, shards)
  deploy/tagarela bench SCENARIO [bench options]   (fresh instance in a temp folder; see Benchmarks/README.md)
  deploy/tagarela nats [--port 4222] [--host 127.0.0.1] [--cluster-port 6222 --routes nats://H:P,...]
                       [--cluster-name tagarela] [--name NAME] [--data ./nats-data] [--token T]
                       [--monitor-port P] [--detach]
                       (a local nats-server with JetStream, its store in --data; installs the Debian
                       package nats-server on first use. No TLS: keep it on loopback or a private network)
  deploy/tagarela nats --stop [--data ./nats-data]
  deploy/tagarela nats --install   (only install nats-server if it is missing; Tests/run does this)

start stays in the foreground and stops everything on Ctrl-C or SIGTERM; with --detach it returns
once /healthz answers 200 (exit 1 with the reason if not within 30 s). Every flag has an environment
variable: TAGARELA_PORT, TAGARELA_HOST, TAGARELA_WORKERS, TAGARELA_DATA, TAGARELA_FSYNC,
TAGARELA_ECHO_PATH, TAGARELA_PBKDF2_ITERATIONS, TAGARELA_LOOPS, TAGARELA_REQUESTS_PER_SECOND,
TAGARELA_REQUEST_BURST, TAGARELA_FLUSH_DELAY_MS, TAGARELA_REQUEST_TIMEOUT_MS,
TAGARELA_HEARTBEAT_TIMEOUT_MS, TAGARELA_HUNG_GRACE_MS, TAGARELA_LOG_FORMAT, TAGARELA_SLOW_REQUEST_MS,
TAGARELA_COMPRESSION, TAGARELA_COMPRESSION_THRESHOLD, TAGARELA_ATTACHMENT_BYTES_MAX,
TAGARELA_ALLOWED_ORIGINS, TAGARELA_BIN; the --flush-* ones are read by the processes themselves
(TAGARELA_FLUSH_POLICY, ...). A setting left unset is not passed: the binary's default applies.

With --bus the links ride NATS: --role all runs the gateway and every worker of the layout here;
--role gateway only a gateway (its shard count is read from the bus); --role workers the workers of
--shards (default: all), with --total-shards N needed only while the cluster has no layout yet.
Credentials go in the URLs (nats://TOKEN@H:P); TAGARELA_BUS keeps them out of the process list.

A worker that stops answering (SIGSTOP, a stuck loop) is noticed by the gateway's link heartbeat
(--heartbeat-timeout-ms); once /healthz has listed it as unresponsive for --hung-grace-ms, the
supervisor kills it (SIGKILL) and restarts it.
EOF
}

parse_flags() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --detach) DETACH=1; shift;;
      --once) ONCE=1; shift;;
      --workers) WORKERS="${2:?--workers needs a value}"; shift 2;;
      --data) DATA="${2:?--data needs a value}"; shift 2;;
      --bus) BUS="${2:?--bus needs a value}"; shift 2;;
      --cluster) CLUSTER="${2:?--cluster needs a value}"; shift 2;;
      --role) ROLE="${2:?--role needs a value}"; shift 2;;
      --shards) SHARDS="${2:?--shards needs a value}"; shift 2;;
      --total-shards) TOTAL_SHARDS="${2:?--total-shards needs a value}"; shift 2;;
      -h|--help) usage; exit 0;;
      --?*) [ -n "${SETTING[${1#--}]:-}" ] || die "unknown option '$1' (see --help)"
           printf -v "${SETTING[${1#--}]}" '%s' "${2:?$1 needs a value}"; shift 2;;
      *) die "unknown option '$1' (see --help)";;
    esac
  done
  if [ ! -d "$DATA" ]; then
    mkdir -p "$DATA" && chmod 700 "$DATA" || die "cannot create $DATA"
  fi
  DATA="$(cd "$DATA" && pwd)"
  RUN="$DATA/run"
  case "$FSYNC" in always|interval|never) ;; *) die "--fsync must be always, interval or never";; esac
  [[ "$HUNG_GRACE" =~ ^[0-9]+$ ]] || die "--hung-grace-ms must be a whole number of milliseconds"
  case "${LOG_FORMAT:-text}" in text|json) ;; *) die "--log-format must be text or json";; esac
  case "${FLUSH_POLICY:-idle}" in idle|fixed) ;; *) die "--flush-policy must be idle or fixed";; esac
  case "${FLUSH_REPLIES_PROMPTLY:-no}" in yes|no) ;; *) die "--flush-replies-promptly must be yes or no";; esac
  case "$ROLE" in all|gateway|workers) ;; *) die "--role must be all, gateway or workers";; esac
  if [ -z "$BUS" ] && { [ "$ROLE" != all ] || [ -n "$SHARDS" ] || [ -n "$TOTAL_SHARDS" ]; }; then
    die "--role, --shards and --total-shards need --bus"
  fi
  [ -z "$SHARDS" ] || [[ "$SHARDS" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--shards must be a list like 0,1,2"
  [ -z "$TOTAL_SHARDS" ] || [[ "$TOTAL_SHARDS" =~ ^[1-9][0-9]*$ ]] || die "--total-shards must be a positive number"
}

# passed FLAG...: appends `--FLAG VALUE` to ARGS for each of these settings that is set.
# An unset one is left to the binary's default, so this supervisor can also run an older build
# that does not know the flag (Benchmarks/compare runs the previous one; e9749b6).
passed() {
  local flag var
  for flag in "$@"; do
    var="${SETTING[$flag]}"
    [ -n "${!var}" ] && ARGS+=("--$flag" "${!var}")
  done
  return 0
}

# Under --bus, appends to ARGS the flags that choose this host's share of which cluster.
bus_flags() {
  [ -n "$BUS" ] || return 0
  ARGS+=(--bus "$BUS" --cluster "$CLUSTER" --role "$ROLE")
  [ -n "$SHARDS" ] && ARGS+=(--shards "$SHARDS")
  return 0
}
