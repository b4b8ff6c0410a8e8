#!/usr/bin/env bash
# HIPAA gate benchmark: consent decisions per second (realistic records per contact vs. a contact with no records)
# and durable audit appends per second (the MAC chain vs. a plain batched insert), on H2 and on a durable PostgreSQL,
# all in one JVM with a fixed 1 GiB heap, in alternating rounds after a warm-up. Extra arguments go to the benchmark
# (e.g. --rounds 5 --round-seconds 5 --warmup-seconds 15).
set -euo pipefail
cd "$(dirname "$0")/.."
# the hub (and its plain classes for bench/), then bench/ with the hub's runtime classpath
mvn -q -B verify -DskipTests
mvn -q -B -f bench package

pg_db=caravan_consent_bench source bench/pg.sh

java -Xms1g -Xmx1g -XX:+UseG1GC -cp "bench/target/classes:$(cat bench/target/hub.classpath)" io.caravan.bench.ConsentBench \
  --policies config/policies --pg-url "$pg_url" "$@"
