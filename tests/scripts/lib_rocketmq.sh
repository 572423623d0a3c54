# The real RocketMQ broker for e2e_rocketmq.sh: resolve it from Maven Central, start a namesrv
# and a broker with the timing-sidecar plugin on free loopback ports, run the harness driver.
# Sourced after lib.sh (TMP, PIDS, fail). Not a test (CTest skips lib*.sh).

# The flags JDK 17 needs for RocketMQ's direct buffers (its own runbroker.sh sets the same).
JDK17_FLAGS=(--add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
  --add-exports java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED)

require_java() {
  command -v java >/dev/null && command -v mvn >/dev/null ||
    fail "java and mvn are needed for the real-broker test: run scripts/setup.sh"
}

# free_broker_port: a port P with P-2 (the broker's fast channel) and P+1 (HA) free as well.
free_broker_port() {
  python3 - <<'EOF'
import socket
for _ in range(50):
    probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
    if port < 20000 or port > 60000: continue
    held = []
    try:
        for p in (port - 2, port, port + 1):
            s = socket.socket(); s.bind(("127.0.0.1", p)); held.append(s)
        print(port); break
    except OSError:
        pass
    finally:
        for s in held: s.close()
EOF
}

# build_harness VERSION: the plugin jar and the driver with RocketMQ VERSION's classpath.
build_harness() {
  local version=$1 root=$PWD
  mvn -B -q -f "$root/broker-plugin/pom.xml" -DskipTests package >"$TMP/mvn-plugin.log" 2>&1 ||
    { tail -30 "$TMP/mvn-plugin.log" >&2; fail "cannot build broker-plugin"; }
  PLUGIN_JAR=$root/broker-plugin/target/timing-sidecar-rocketmq-plugin.jar
  local target=$root/tests/rocketmq/target/$version
  mvn -B -q -f "$root/tests/rocketmq/pom.xml" -Drocketmq.version="$version" package \
    dependency:build-classpath -Dmdep.outputFile="$target/classpath.txt" >"$TMP/mvn-harness.log" 2>&1 ||
    { tail -30 "$TMP/mvn-harness.log" >&2; fail "cannot resolve RocketMQ $version from Maven Central"; }
  CLASSPATH_RMQ=$(cat "$target/classpath.txt"):$target/classes
  # A client JVM, small and quick to start. An array rather than a function, so that a client
  # started with & is the JVM itself and the clean-up's kill reaches it.
  CLIENT_JAVA=(java -Xmx192m -XX:TieredStopAtLevel=1 "${JDK17_FLAGS[@]}" -Duser.home="$TMP/home"
    -cp "$CLASSPATH_RMQ")
  DRIVER=("${CLIENT_JAVA[@]}" org.timingsidecar.e2e.Driver)
}

mqadmin() {
  "${CLIENT_JAVA[@]}" org.apache.rocketmq.tools.command.MQAdminStartup "$@" -n "$NAMESRV"
}

# start_namesrv: NAMESRV (host:port) of a running name server.
start_namesrv() {
  local port
  port=$(free_port)
  echo "listenPort=$port" >"$TMP/namesrv.conf"
  ROCKETMQ_HOME=$TMP/rocketmq-home java -Xms128m -Xmx256m "${JDK17_FLAGS[@]}" -Duser.home="$TMP/home" \
    -cp "$CLASSPATH_RMQ" org.apache.rocketmq.namesrv.NamesrvStartup -c "$TMP/namesrv.conf" \
    >"$TMP/namesrv.log" 2>&1 &
  PIDS+=($!)
  NAMESRV=127.0.0.1:$port
  wait_for 60 "the name server" 'grep -q "boot success" "$TMP/namesrv.log"'
}

# write_broker_conf WEBHOOK_URL [PLUGIN]: broker.conf, with the plugin unless PLUGIN is "none";
# sets BROKER_PORT, BROKER_METRICS (the broker's own Prometheus exporter) and FEED (the plugin's
# broker API).
write_broker_conf() {
  BROKER_PORT=$(free_broker_port)
  [ -n "$BROKER_PORT" ] || fail "no free port triple for the broker"
  local metrics_port feed_port
  metrics_port=$(free_port)
  feed_port=$(free_port)
  BROKER_METRICS=http://127.0.0.1:$metrics_port/metrics
  FEED=http://127.0.0.1:$feed_port
  cat >"$TMP/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
namesrvAddr=$NAMESRV
listenPort=$BROKER_PORT
storePathRootDir=$TMP/store
storePathCommitLog=$TMP/store/commitlog
flushDiskType=ASYNC_FLUSH
mappedFileSizeCommitLog=67108864
mappedFileSizeConsumeQueue=600000
mappedFileSizeTimerLog=16777216
recallMessageEnable=true
autoCreateTopicEnable=true
metricsExporterType=PROM
metricsPromExporterHost=127.0.0.1
metricsPromExporterPort=$metrics_port
messageStorePlugIn=org.timingsidecar.rocketmq.TimingSidecarMessageStore
timingSidecarFeedAddress=127.0.0.1:$feed_port
timingSidecarPortFile=$TMP/feed.port
timingSidecarWebhookUrl=$1
timingSidecarSecretFile=$TMP/secret
timingSidecarEventBuffer=131072
EOF
  [ "${2:-}" != none ] || sed -i '/^messageStorePlugIn=/d' "$TMP/broker.conf"
}

# start_broker: the broker with the plugin jar on its classpath, until it registered and the
# plugin's feed listens.
start_broker() {
  rm -f "$TMP/feed.port"
  : >"$TMP/broker.log"
  ROCKETMQ_HOME=$TMP/rocketmq-home java -Xms512m -Xmx512m -XX:MaxDirectMemorySize=256m \
    "${JDK17_FLAGS[@]}" -Duser.home="$TMP/home" -cp "$CLASSPATH_RMQ:$PLUGIN_JAR" \
    org.apache.rocketmq.broker.BrokerStartup -c "$TMP/broker.conf" >>"$TMP/broker.log" 2>&1 &
  BROKER_PID=$!
  PIDS+=($BROKER_PID)
  wait_for 120 "the broker" 'grep -q "boot success" "$TMP/broker.log"'
  grep -q '^messageStorePlugIn=' "$TMP/broker.conf" || return 0
  wait_for 10 "the plugin's feed" 'test -s "$TMP/feed.port"'
}

stop_broker() {
  kill "$BROKER_PID" 2>/dev/null || true
  for _ in $(seq 1 600); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$BROKER_PID" 2>/dev/null && fail "the broker did not stop within 60 s"
  wait "$BROKER_PID" 2>/dev/null || true
}

# wait_for SECONDS WHAT 'COMMAND': until COMMAND (evaluated afresh each time) succeeds, or fail.
wait_for() {
  local seconds=$1 what=$2 command=$3
  local deadline=$((SECONDS + seconds))
  until eval "$command" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { show_logs; fail "$what: not ready within ${seconds} s"; }
    sleep 0.2
  done
}

# send_timing TOPIC COUNT MIN_DELAY_MS MAX_DELAY_MS RECALL: the driver's send (Driver.java), or
# fail with what the producer and the servers said.
send_timing() {
  "${DRIVER[@]}" send "$NAMESRV" "$@" >>"$TMP/send.log" 2>&1 && return 0
  tail -30 "$TMP/send.log" >&2
  show_logs
  fail "send of $2 timing messages to $1"
}

show_logs() {
  for log in namesrv broker sidecar consumer; do
    [ -f "$TMP/$log.log" ] && { echo "--- $log.log (tail)" >&2; tail -15 "$TMP/$log.log" >&2; }
  done
  return 0
}

# gauge URL NAME TOPIC: the value of NAME{topic=TOPIC} as an integer, or "absent". The value is
# the first field after the labels (RocketMQ's exporter writes a timestamp after it).
gauge() {
  { curl -sf --max-time 10 "$1" || true; } | awk -v name="$2" -v topic="topic=\"$3\"" '
    index($0, name "{") == 1 && index($0, topic) {
      sub(/^[^}]*} */, ""); printf "%d\n", $1; found = 1; exit
    }
    END { if (!found) print "absent" }'
}
