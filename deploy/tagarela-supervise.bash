# deploy/tagarela-supervise.bash: the supervisor process itself, sourced by deploy/tagarela (it uses
# its settings, parse_flags and healthz_body): starts this host's workers and gateway, restarts
# whatever dies (with back-off), kills hung workers, and stops everything on SIGTERM or SIGINT.
# Both modes share every step: without --bus the workers are all of the layout and linked by Unix
# sockets in RUN; with --bus this host's share of the cluster (ROLE, SHARD_LIST) rides NATS.

# Hung workers. A stopped or stuck worker keeps its socket open, so its keeper's `wait` never
# returns, and it cannot report on itself (a SIGSTOPped process runs nothing). The gateway can:
# its link heartbeat lists the worker in /healthz's "unresponsive_workers". One listed for
# HUNG_GRACE ms, as the same process, is killed with SIGKILL (which ends a stopped process too);
# its keeper then restarts it as after any exit.
declare -gA HUNG_PID=() HUNG_SINCE=()
reap_hung_workers() {
  local list now k pid
  list="$(healthz_body | sed -n 's/.*"unresponsive_workers":\[\([0-9,]*\)\].*/\1/p')"
  now=$(date +%s%3N)
  local listed=" "
  for k in ${list//,/ }; do
    pid="$(cat "$RUN/worker-$k.pid" 2>/dev/null)"
    # Only this instance's worker K: never a recycled pid of someone else.
    [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--socket $RUN/worker-$k.sock" || continue
    listed+="$k "
    if [ "${HUNG_PID[$k]:-}" != "$pid" ]; then
      HUNG_PID[$k]=$pid
      HUNG_SINCE[$k]=$now
    elif (( now - HUNG_SINCE[$k] >= HUNG_GRACE )); then
      supervisor_log error worker_hung "worker-$k (pid $pid) has missed its link heartbeat for over ${HUNG_GRACE} ms; killing it (SIGKILL) to restart it" \
        "\"name\":\"worker-$k\",\"pid\":$pid,\"grace_ms\":$HUNG_GRACE" | tee -a "$RUN/worker-$k.log" >&2
      kill -KILL "$pid" 2>/dev/null
      HUNG_SINCE[$k]=$now
    fi
  done
  for k in "${!HUNG_PID[@]}"; do
    [[ "$listed" == *" $k "* ]] || unset "HUNG_PID[$k]" "HUNG_SINCE[$k]"
  done
}

# supervisor_log LEVEL EVENT MESSAGE JSON-FIELDS: one supervisor line, in the instance's log
# format (text: "supervisor: MESSAGE"; json: the processes' shape, process "supervisor").
supervisor_log() {
  if [ "$LOG_FORMAT" = json ]; then
    printf '{"time":"%s","level":"%s","process":"supervisor","event":"%s",%s}\n' \
      "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$1" "$2" "$4"
  else
    echo "supervisor: $3"
  fi
}

# keep NAME CMD...: runs CMD, restarting it with back-off (0.2 s doubling to 10 s, reset after
# 30 s of good health) until the supervisor stops. Its pid file names the current child.
keep() {
  local name="$1"; shift
  local delay=0.2 started
  trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; rm -f "$RUN/$name.pid"; exit 0' TERM INT
  while :; do
    started=$(date +%s)
    "$@" >>"$RUN/$name.log" 2>&1 &
    child=$!
    echo "$child" > "$RUN/$name.pid"
    wait "$child"
    local rc=$?
    [ -f "$RUN/stopping" ] && break
    # 3: another worker owns the shard; 4: the cluster's layout is another (tagarela worker
    # under --bus). Restarting would only refuse again: say so and leave it stopped.
    if [ "$rc" = 3 ] || [ "$rc" = 4 ]; then
      echo "supervisor: $name refused to start (status $rc; see above); not restarting it" | tee -a "$RUN/$name.log" >&2
      tail -n 2 "$RUN/$name.log" | head -n 1 > "$RUN/$name.refused"
      break
    fi
    if [ $(( $(date +%s) - started )) -ge 30 ]; then delay=0.2; fi
    supervisor_log warn worker_restart "$name exited with status $rc; restarting in ${delay}s" \
      "\"name\":\"$name\",\"status\":$rc,\"delay_s\":$delay" | tee -a "$RUN/$name.log" >&2
    echo restarting > "$RUN/$name.state"
    sleep "$delay"
    rm -f "$RUN/$name.state"
    delay=$(awk -v d="$delay" 'BEGIN { d *= 2; if (d > 10) d = 10; print d }')
  done
  rm -f "$RUN/$name.pid"
}

# worker_args K: worker K's command line, in ARGS.
worker_args() {
  ARGS=(worker --shard "$1" --workers "$WORKERS" --data "$DATA" --socket "$RUN/worker-$1.sock" --fsync "$FSYNC")
  passed log-format pbkdf2-iterations
  [ -n "$BUS" ] && ARGS+=(--bus "$BUS" --cluster "$CLUSTER")
  passed flush-delay-ms flush-policy attachment-bytes-max
}

# The gateway's command line, in ARGS: under --bus it reads the shard count from the bus,
# otherwise it finds the workers' sockets in RUN.
gateway_args() {
  ARGS=(gateway --port "$PORT" --host "$HOST")
  if [ -n "$BUS" ]; then
    ARGS+=(--bus "$BUS" --cluster "$CLUSTER")
  else
    ARGS+=(--workers "$WORKERS" --run-dir "$RUN")
  fi
  passed echo-path loops requests-per-second request-burst flush-delay-ms request-timeout-ms \
    heartbeat-timeout-ms log-format slow-request-ms compression compression-threshold allowed-origins \
    flush-policy flush-spacing-ms flush-client-hold-ms flush-replies-promptly
}

# RUN/instance: everything a restart needs to start the same instance again (restart, scale) and
# what status reports, as shell assignments they source.
write_instance() {
  local var
  {
    for var in "${SETTING[@]}" WORKERS; do printf '%s=%q\n' "$var" "${!var}"; done
    # BUS always, empty for a one-machine instance: sourced, the file then overrides a
    # TAGARELA_BUS in the environment of whoever asks (status) or restarts it.
    printf 'BUS=%q\n' "$BUS"
    if [ -n "$BUS" ]; then
      for var in CLUSTER ROLE; do printf '%s=%q\n' "$var" "${!var}"; done
      printf 'SHARDS=%q\n' "$(IFS=,; echo "${SHARD_LIST[*]}")"
    fi
  } > "$RUN/instance"
}

# The keepers (one per process) started by supervise.
KEEPERS=()

# SIGTERM or SIGINT: the stopping mark tells every keeper not to restart its process; each keeper
# stops its own, and the supervisor exits once all of them have.
shutdown() {
  local p
  touch "$RUN/stopping"
  for p in "${KEEPERS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait "${KEEPERS[@]}" 2>/dev/null
  rm -f "$RUN/supervisor.pid" "$RUN/instance"
  echo "tagarela: stopped"
  exit 0
}

# Runs this host's processes until SIGTERM or SIGINT: the workers of SHARD_LIST (none under
# --role gateway) and the gateway (none under --role workers).
supervise() {
  local k
  mkdir -p -m 700 "$RUN"
  rm -f "$RUN/stopping" "$RUN"/*.state "$RUN"/*.refused
  echo $$ > "$RUN/supervisor.pid"
  if [ "$ROLE" != gateway ]; then
    # --workers records the layout of a fresh instance (layout.json), so a later `scale` knows how
    # many shards the data is split into; an existing layout already matched (resolve_workers).
    "$BIN" reshard --data "$DATA" --recover --workers "$WORKERS" >>"$RUN/supervisor.log" 2>&1 \
      || die "recovering the data layout failed (see $RUN/supervisor.log)"
    for k in "${SHARD_LIST[@]}"; do
      worker_args "$k"
      keep "worker-$k" "$BIN" "${ARGS[@]}" &
      KEEPERS+=($!)
    done
  fi
  if [ "$ROLE" != workers ]; then
    gateway_args
    keep gateway "$BIN" "${ARGS[@]}" &
    KEEPERS+=($!)
  fi
  write_instance
  trap shutdown TERM INT
  if [ -n "$BUS" ]; then
    say "cluster $CLUSTER over $BUS: role $ROLE, shards ${SHARD_LIST[*]:-none} of ${WORKERS:-the bus layout}, data in $DATA"
  else
    say "gateway on $HOST:$PORT, $WORKERS workers, data in $DATA (logs in $RUN)"
  fi
  # A workers-only host has no gateway to ask which worker is hung.
  while :; do sleep 1 & wait $!; [ "$ROLE" = workers ] || reap_hung_workers; done
}
