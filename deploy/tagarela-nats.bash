# deploy/tagarela-nats.bash: `deploy/tagarela nats`, sourced by deploy/tagarela (it uses its die and
# say); a local nats-server with JetStream for development, tests and small deployments.
# Its own flags and files (DIR/nats.conf, nats.pid, nats.log, jetstream/): nothing here touches an
# instance's data folder. The token goes into the 0600 config file, not onto a command line ps shows.

# nats-server on PATH (or Debian's /usr/sbin), installing the Debian package once if missing.
ensure_nats_server() {
  NATS_SERVER="$(command -v nats-server || true)"
  [ -z "$NATS_SERVER" ] && [ -x /usr/sbin/nats-server ] && NATS_SERVER=/usr/sbin/nats-server
  [ -n "$NATS_SERVER" ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "nats-server is not installed and there is no apt-get: install nats-server 2.9+"
  [ "$(id -u)" = 0 ] || die "nats-server is not installed: run as root once (apt-get install nats-server), or install it yourself"
  say "installing nats-server from Debian (apt-get update; apt-get install nats-server), once"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server) >/dev/null 2>&1 \
    || die "apt-get install nats-server failed"
  NATS_SERVER="$(command -v nats-server || echo /usr/sbin/nats-server)"
  [ -x "$NATS_SERVER" ] || die "nats-server still not found after installing"
}

cmd_nats() {
  local port=4222 host=127.0.0.1 cport="" routes="" cname=tagarela name="" data=./nats-data token="" mport="" detach="" stop=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port="${2:?--port needs a value}"; shift 2;;
      --host) host="${2:?--host needs a value}"; shift 2;;
      --cluster-port) cport="${2:?--cluster-port needs a value}"; shift 2;;
      --routes) routes="${2:?--routes needs a value}"; shift 2;;
      --cluster-name) cname="${2:?--cluster-name needs a value}"; shift 2;;
      --name) name="${2:?--name needs a value}"; shift 2;;
      --data) data="${2:?--data needs a value}"; shift 2;;
      --token) token="${2:?--token needs a value}"; shift 2;;
      --monitor-port) mport="${2:?--monitor-port needs a value}"; shift 2;;
      --detach) detach=1; shift;;
      --stop) stop=1; shift;;
      --install) ensure_nats_server; say "nats-server: $NATS_SERVER"; return 0;;
      -h|--help) usage; exit 0;;
      *) die "nats: unknown option '$1' (see --help)";;
    esac
  done
  local p
  for p in "$port" $cport $mport; do
    [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "nats: ports are numbers from 1 to 65535 (got '$p')"
  done
  [ -n "$routes" ] && [ -z "$cport" ] && die "nats: --routes needs --cluster-port"
  [[ "$routes" =~ ^[A-Za-z0-9.:/,_-]*$ ]] || die "nats: --routes is a comma-separated list of nats://HOST:PORT"
  [[ "$token" =~ ^[A-Za-z0-9._~+/=-]*$ ]] || die "nats: --token may hold letters, digits and ._~+/=- only"
  [[ "$cname$name" =~ ^[A-Za-z0-9_-]*$ ]] || die "nats: --cluster-name and --name may hold letters, digits, _ and - only"
  mkdir -p -m 700 "$data" || die "cannot create $data"
  data="$(cd "$data" && pwd)"
  if [ -n "$stop" ]; then
    [ -f "$data/nats.pid" ] && kill -0 "$(cat "$data/nats.pid")" 2>/dev/null || { say "nats-server not running (data in $data)"; return 0; }
    kill -TERM "$(cat "$data/nats.pid")"
    for _ in $(seq 1 100); do kill -0 "$(cat "$data/nats.pid")" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$(cat "$data/nats.pid")" 2>/dev/null
    rm -f "$data/nats.pid"; say "nats-server stopped"; return 0
  fi
  if [ -f "$data/nats.pid" ] && kill -0 "$(cat "$data/nats.pid")" 2>/dev/null; then
    die "a nats-server already runs with data in $data (pid $(cat "$data/nats.pid"))"
  fi
  ensure_nats_server
  [ -n "$name" ] || name="nats-${host//./-}-$port"
  local conf="$data/nats.conf"
  {
    echo "server_name: \"$name\""
    echo "listen: \"$host:$port\""
    [ -n "$mport" ] && echo "http: \"$host:$mport\""
    echo "pid_file: \"$data/nats.pid\""
    echo "jetstream { store_dir: \"$data/jetstream\" }"
    [ -n "$token" ] && echo "authorization { token: \"$token\" }"
    if [ -n "$cport" ]; then
      echo "cluster {"
      echo "  name: \"$cname\""
      echo "  listen: \"$host:$cport\""
      [ -n "$routes" ] && echo "  routes: [$(echo "$routes" | sed 's/[^,][^,]*/"&"/g; s/,/, /g')]"
      echo "}"
    fi
  } >"$conf"
  chmod 600 "$conf"
  "$NATS_SERVER" -c "$conf" -t >/dev/null 2>&1 || die "nats-server refused $conf: $("$NATS_SERVER" -c "$conf" -t 2>&1 | tail -1)"
  local where="nats://$host:$port"
  [ -n "$cport" ] && where="$where (cluster $cname on $host:$cport${routes:+, routes $routes})"
  if [ -z "$detach" ]; then
    say "nats-server $name on $where, JetStream store in $data/jetstream"
    exec "$NATS_SERVER" -c "$conf"
  fi
  setsid "$NATS_SERVER" -c "$conf" >>"$data/nats.log" 2>&1 </dev/null &
  local deadline=$(( $(date +%s) + 15 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
      say "nats-server $name on $where, JetStream store in $data/jetstream (log $data/nats.log; stop: deploy/tagarela nats --stop --data $data)"
      return 0
    fi
    sleep 0.2
  done
  tail -n 5 "$data/nats.log" >&2
  die "nats-server did not listen on $host:$port within 15 s"
}
