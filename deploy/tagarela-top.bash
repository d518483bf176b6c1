# deploy/tagarela-top.bash: `deploy/tagarela top`, sourced by deploy/tagarela (it uses its
# parse_flags, is_running and settings); a file of its own so the supervisor stays one concept.
# A live view of one instance (issue 13), in the spirit of `redis-cli --stat` and `nats top`.
# Each frame compares two scrapes of the gateway's /metrics (which carries every worker's numbers
# too, by shard) and two reads of each process's /proc/PID/stat: rates are deltas over the
# interval, and p50/p99 come from the histograms' bucket deltas (Prometheus' histogram_quantile),
# so they describe the last second, not the process's whole life.

# The whole GET /metrics answer body over bash's /dev/tcp (no curl needed), or nothing.
metrics_body() {
  local text=""
  if { exec 4<>"/dev/tcp/$HOST/$PORT"; } 2>/dev/null; then
    printf 'GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$HOST" >&4
    IFS= read -r -d '' -t 3 text <&4 || true
    exec 4<&- 4>&-
  fi
  printf '%s' "${text#*$'\r\n\r\n'}"
}

# One sample of the instance into folder $1: metrics.txt, procs.txt ("name pid ticks rss_kib"),
# shards.txt ("k kib"), and the time in ms.
top_sample() {
  local dir="$1" n pid
  metrics_body > "$dir/metrics.txt"
  : > "$dir/procs.txt"
  for n in supervisor gateway $(for ((k = 0; k < WORKERS; k++)); do echo "worker-$k"; done); do
    pid="$(cat "$RUN/$n.pid" 2>/dev/null)"
    if [ -n "$pid" ] && [ -r "/proc/$pid/stat" ]; then
      # Fields 14 and 15 of stat (utime, stime) counted after the parenthesised command name.
      local ticks rss
      ticks="$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')"
      rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)"
      echo "$n $pid ${ticks:-0} ${rss:-0}" >> "$dir/procs.txt"
    else
      echo "$n - 0 0" >> "$dir/procs.txt"
    fi
  done
  : > "$dir/shards.txt"
  for ((k = 0; k < WORKERS; k++)); do
    echo "$k $(du -sk "$DATA/shard-$k" 2>/dev/null | cut -f1)" >> "$dir/shards.txt"
  done
  date +%s%3N > "$dir/time"
}

# Prints one frame from samples $1 (before) and $2 (after).
top_frame() {
  local a="$1" b="$2"
  local dt_ms=$(( $(cat "$b/time") - $(cat "$a/time") ))
  awk -v dt_ms="$dt_ms" -v hz="$(getconf CLK_TCK)" -v host="$HOST:$PORT" -v data="$DATA" '
    function q(prefix, quant,   i, n, les, le, cum, total, target, prevle, prevcum, lo) {
      # The delta of the cumulative buckets whose series starts with prefix, summed over labels.
      n = 0
      for (key in B) {
        if (index(key, prefix "_bucket") != 1) continue
        le = key; sub(/.*le="/, "", le); sub(/".*/, "", le)
        d = B[key] - A[key]
        if (!(le in sum)) { les[++n] = le }
        sum[le] += d
      }
      if (n == 0) { delete sum; return "-" }
      # Sort the bounds numerically (+Inf last).
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) {
        x = (les[i] == "+Inf") ? 1e300 : les[i] + 0; y = (les[j] == "+Inf") ? 1e300 : les[j] + 0
        if (y < x) { t = les[i]; les[i] = les[j]; les[j] = t }
      }
      total = sum[les[n]]
      if (total <= 0) { delete sum; return "-" }
      target = quant * total; prevle = 0; prevcum = 0
      for (i = 1; i <= n; i++) {
        cum = sum[les[i]]
        if (cum >= target) {
          if (les[i] == "+Inf") { lo = prevle; delete sum; return sprintf(">%.1fms", lo * 1000) }
          v = prevle + (les[i] - prevle) * (cum == prevcum ? 0 : (target - prevcum) / (cum - prevcum))
          delete sum
          return sprintf("%.2fms", v * 1000)
        }
        prevle = les[i] + 0; prevcum = cum
      }
      delete sum
      return "-"
    }
    function rate(prefix,   key, total) {
      total = 0
      for (key in B) if (key == prefix || index(key, prefix "{") == 1) total += B[key] - A[key]
      return total * 1000 / dt_ms
    }
    FILENAME ~ /before\/metrics.txt$/ && !/^#/ && NF == 2 { A[$1] = $2; next }
    FILENAME ~ /after\/metrics.txt$/ && !/^#/ && NF == 2 { B[$1] = $2; next }
    FILENAME ~ /before\/procs.txt$/ { T0[$1] = $3; next }
    FILENAME ~ /after\/procs.txt$/ { order[++np] = $1; P[$1] = $2; T1[$1] = $3; R[$1] = $4; next }
    FILENAME ~ /after\/shards.txt$/ { S[$1] = $2; ns = ($1 + 1 > ns) ? $1 + 1 : ns; next }
    END {
      printf "tagarela top  %s  data %s  (interval %.1f s)\n\n", host, data, dt_ms / 1000
      printf "connections   websocket %d  ndjson %d  pending %d  echo %d   online users %d\n",
        B["tagarela_connections{transport=\"websocket\"}"], B["tagarela_connections{transport=\"ndjson\"}"],
        B["tagarela_connections{transport=\"pending\"}"], B["tagarela_connections{transport=\"echo\"}"],
        B["tagarela_online_users"]
      printf "rates/s       requests %.1f  messages %.1f  deliveries %.1f\n",
        rate("tagarela_requests_total"), rate("tagarela_requests_total{type=\"message\"}"), rate("tagarela_deliveries_total")
      printf "request       p50 %s  p99 %s\n", q("tagarela_request_duration_seconds", 0.5), q("tagarela_request_duration_seconds", 0.99)
      printf "delivery      p50 %s  p99 %s\n\n", q("tagarela_delivery_queueing_seconds", 0.5), q("tagarela_delivery_queueing_seconds", 0.99)
      printf "%-12s %-8s %7s %9s\n", "process", "pid", "cpu%", "rss MiB"
      for (i = 1; i <= np; i++) {
        n = order[i]
        cpu = (P[n] == "-") ? 0 : (T1[n] - T0[n]) * 100000 / (hz * dt_ms)
        printf "%-12s %-8s %7.1f %9.1f\n", n, P[n], cpu, R[n] / 1024
      }
      printf "\n%-6s %3s %8s %8s %10s %12s %10s %7s\n", "shard", "up", "users", "chats", "messages", "journal KiB", "disk KiB", "starts"
      for (k = 0; k < ns; k++) {
        l = "{shard=\"" k "\"}"
        printf "%-6d %3d %8d %8d %10d %12d %10d %7d\n", k, B["tagarela_shard_up" l], B["tagarela_shard_users" l],
          B["tagarela_shard_chats" l], B["tagarela_shard_messages" l], B["tagarela_shard_journal_bytes" l] / 1024,
          S[k], B["tagarela_shard_starts_total" l]
      }
    }' "$a/metrics.txt" "$b/metrics.txt" "$a/procs.txt" "$b/procs.txt" "$b/shards.txt"
}

cmd_top() {
  parse_flags "$@"
  is_running || die "not running (data in $DATA)"
  . "$RUN/instance"
  TOP_TMP="$(mktemp -d /tmp/tagarela-top.XXXXXX)"
  local tmp="$TOP_TMP"
  trap 'rm -rf "$TOP_TMP"' EXIT
  trap 'exit 0' INT TERM
  mkdir -p "$tmp/before" "$tmp/after"
  top_sample "$tmp/before"
  while :; do
    sleep 1
    top_sample "$tmp/after"
    if [ -n "$ONCE" ]; then
      top_frame "$tmp/before" "$tmp/after"
      return 0
    fi
    printf '\033[H\033[2J'
    top_frame "$tmp/before" "$tmp/after"
    echo; echo "(Ctrl-C to quit)"
    rm -rf "$tmp/before"; mv "$tmp/after" "$tmp/before"; mkdir -p "$tmp/after"
  done
}
