#!/usr/bin/env bash
# Secure email benchmark: protected messages per second through the whole pipeline (the hub in-process on its
# embedded defaults) beside the S/MIME + DKIM work alone, same JVM, fixed 1 GiB heap, alternating rounds after a
# warm-up. Delivery goes over the relay adapter's reused SMTP connections to a local sink (--outbox true: the outbox
# files). Extra arguments go to the benchmark (e.g. --rounds 5 --messages 2000 --planners 4).
set -euo pipefail
cd "$(dirname "$0")/.."
bench=email main=bench/email/io/caravan/bench/EmailBench.java source bench/compile.sh
java -Xms1g -Xmx1g -XX:+UseG1GC -cp "$out:target/classes:$(cat "$cp")" io.caravan.bench.EmailBench "$@"
