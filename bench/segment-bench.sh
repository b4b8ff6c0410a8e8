#!/usr/bin/env bash
# Segment evaluation benchmark: 1,000,000 synthetic contacts in the attribute index, three segments each evaluated
# beside the same predicate over plain arrays, in one JVM with a fixed 1 GiB heap, alternating rounds after a warm-up.
# Extra arguments go to the benchmark (e.g. --contacts 200000 --rounds 3 --threads 2).
set -euo pipefail
cd "$(dirname "$0")/.."
# the hub (and its plain classes for bench/), then bench/ with the hub's runtime classpath
mvn -q -B verify -DskipTests
mvn -q -B -f bench package

java -Xms1g -Xmx1g -XX:+UseG1GC -cp "bench/target/classes:$(cat bench/target/hub.classpath)" \
  io.caravan.bench.SegmentBench "$@"
