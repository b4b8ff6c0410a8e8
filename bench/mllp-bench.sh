#!/usr/bin/env bash
# MLLP benchmark: the hub on H2 and on PostgreSQL against a bare camel-mllp + HAPI listener, same run, same heap.
# Extra arguments go to the load generator (e.g. --rounds 5 --round-seconds 10 --senders 8,1).
set -euo pipefail
cd "$(dirname "$0")/.."
# the hub (its fat jar, and its plain classes for bench/), then the load generator's jar
mvn -q -B verify -DskipTests
mvn -q -B -f bench package
jar=$(ls target/caravan-*.jar | head -1)

# A durable PostgreSQL of our own (fsync and synchronous_commit on, as in production), on a free port.
source bench/pg.sh

java -jar bench/target/caravan-bench.jar --hub-jar "$jar" \
  --pg-url "$pg_url" "$@"
