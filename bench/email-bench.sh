#!/usr/bin/env bash
# Secure email benchmark: protected messages per second through the whole pipeline (the hub in-process on its
# embedded defaults) beside the S/MIME + DKIM work alone, same JVM, fixed 1 GiB heap, alternating rounds after a
# warm-up. Delivery goes over the relay adapter's reused SMTP connections to a local sink (--outbox true: the outbox
# files). Extra arguments go to the benchmark (e.g. --rounds 5 --messages 2000 --planners 4).
set -euo pipefail
cd "$(dirname "$0")/.."
# the hub (and its plain classes for bench/), then bench/ with the hub's runtime classpath
mvn -q -B verify -DskipTests
mvn -q -B -f bench package
java -Xms1g -Xmx1g -XX:+UseG1GC -cp "bench/target/classes:$(cat bench/target/hub.classpath)" io.caravan.bench.EmailBench "$@"
