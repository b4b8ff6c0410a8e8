#!/usr/bin/env bash
# Secure email benchmark: protected messages per second through the whole pipeline (the hub in-process on its
# embedded defaults) beside the S/MIME + DKIM work alone, same JVM, fixed 1 GiB heap, alternating rounds after a
# warm-up. Delivery goes over the relay adapter's reused SMTP connections to a local sink (--outbox true: the outbox
# files). Extra arguments go to the benchmark (e.g. --rounds 5 --messages 2000 --planners 4).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B package -DskipTests
cp=target/bench.classpath
mvn -q -B dependency:build-classpath -Dmdep.outputFile="$cp" -Dmdep.includeScope=runtime
out=target/email-bench-classes
rm -rf "$out"; mkdir -p "$out"
javac -d "$out" -cp "target/classes:$(cat "$cp")" bench/email/io/caravan/bench/EmailBench.java
java -Xms1g -Xmx1g -XX:+UseG1GC -cp "$out:target/classes:$(cat "$cp")" io.caravan.bench.EmailBench "$@"
