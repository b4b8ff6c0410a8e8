#!/usr/bin/env bash
# MLLP benchmark: the hub on H2 and on PostgreSQL against a bare camel-mllp + HAPI listener, same run, same heap.
# Extra arguments go to the load generator (e.g. --rounds 5 --round-seconds 10 --senders 8,1).
set -euo pipefail
cd "$(dirname "$0")/.."
jar=$(ls target/caravan-*.jar 2>/dev/null | head -1 || true)
[ -n "$jar" ] || { mvn -q -B package -DskipTests; jar=$(ls target/caravan-*.jar | head -1); }
mvn -q -B -f bench/pom.xml package

# A durable PostgreSQL of our own (fsync and synchronous_commit on, as in production), on a free port.
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pgdir=$(mktemp -d /tmp/caravan-bench-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$pgdir"; as_pg=(runuser -u postgres --); fi
"${as_pg[@]}" "$bin/initdb" -D "$pgdir/data" -A trust -U postgres -E UTF8 >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c shared_buffers=256MB" start >/dev/null
trap '"${as_pg[@]}" "$bin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null; rm -rf "$pgdir"' EXIT
"${as_pg[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE caravan_bench"

java -jar bench/target/caravan-bench.jar --hub-jar "$jar" \
  --pg-url "jdbc:postgresql://127.0.0.1:$port/caravan_bench?user=postgres" "$@"
