#!/usr/bin/env bash
# Campaign throughput benchmark: synthetic contacts registered over MLLP into the hub (in-process, embedded store),
# a treatment segment of them, and per round a campaign of a PHI-free email to it over the relay adapter to a local
# SMTP sink (DKIM off: the relay signs) - beside a tight loop producing the same messages to the same sink without the
# campaign machinery, same JVM, fixed 1 GiB heap, alternating rounds after a warm-up round. Extra arguments go to the
# benchmark (e.g. --contacts 20000 --rounds 3 --connections 8; --caravan.* settings go to the hub).
set -euo pipefail
cd "$(dirname "$0")/.."
# the hub (and its plain classes for bench/), then bench/ with the hub's runtime classpath
mvn -q -B verify -DskipTests
mvn -q -B -f bench package
# this checkout's classes first: the plain jar in the local repository is shared with other checkouts
java -Xms1g -Xmx1g -XX:+UseG1GC -cp "bench/target/classes:target/classes:$(cat bench/target/hub.classpath)" \
  io.caravan.bench.CampaignBench "$@"
