#!/usr/bin/env bash
# Cluster benchmark: HL7 ingest over MLLP and a PHI-free email campaign on 1, 2 and 3 hub JVMs of the postgres,cluster
# profiles (one durable private PostgreSQL, the event log on a KRaft broker process started from the Kafka jars in the
# local Maven repository), each step beside the single-node embedded default (H2) in the same run, every hub JVM with
# -Xmx256m -XX:ActiveProcessorCount=1. On one machine: the point is the overhead and correctness, not a speed-up.
# Ends with the checks: every ACKed message stored once, every campaign recipient sent to once.
# Extra arguments go to the benchmark (e.g. --quick; --nodes 1,2,3 --senders 6 --rounds 3 --round-seconds 20
# --warmup-seconds 20 --campaign 1000 --heap 256m; --caravan.* settings go to every hub).
set -euo pipefail
cd "$(dirname "$0")/.."
# the hub (its fat jar from this checkout, and its plain classes for bench/), then bench/ with the hub's classpath
mvn -q -B verify -DskipTests
mvn -q -B -f bench package
jar=$(ls target/caravan-*.jar | grep -v -- -sources | head -1)
cp_hub="$(cat bench/target/hub.classpath)"

# A durable PostgreSQL of our own (fsync and synchronous_commit on, as in production), on a free port.
pg_db=cluster_bench_admin source bench/pg.sh
pg_trap=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT$//")

# A KRaft broker (broker and controller in one process, replication factor 1) from the Kafka jars bench/ depends on
# (the same ones the hub's tests start), formatted by Kafka's own StorageTool, on free ports.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kdir=$(mktemp -d /tmp/caravan-bench-kafka.XXXXXX)
kport=$(free_port)
kctl=$(free_port)
cat > "$kdir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$kctl
listeners=PLAINTEXT://127.0.0.1:$kport,CONTROLLER://127.0.0.1:$kctl
advertised.listeners=PLAINTEXT://127.0.0.1:$kport
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$kdir/logs
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
java -cp "$cp_hub" kafka.tools.StorageTool format -t "$(java -cp "$cp_hub" kafka.tools.StorageTool random-uuid)" \
  -c "$kdir/server.properties" > "$kdir/format.log" 2>&1
java -Xms384m -Xmx384m -cp "$cp_hub" kafka.Kafka "$kdir/server.properties" > "$kdir/broker.log" 2>&1 &
broker_pid=$!
cleanup() {
  kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null || true
  rm -rf "$kdir"
  eval "$pg_trap"
}
trap cleanup EXIT
for _ in $(seq 1 180); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$kport") 2>/dev/null; then break; fi
  kill -0 "$broker_pid" 2>/dev/null || { cat "$kdir/broker.log"; exit 1; }
  sleep 0.5
done

# the driver: this checkout's classes first (the plain jar in the local repository is shared with other checkouts)
java -Xms512m -Xmx512m -cp "bench/target/classes:target/classes:$cp_hub" io.caravan.bench.ClusterBench \
  --hub-jar "$jar" --pg-admin-url "$pg_url" --pg-data "$pgdir/data" --kafka "127.0.0.1:$kport" \
  --broker-pid "$broker_pid" "$@"
