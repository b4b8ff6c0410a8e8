#!/usr/bin/env bash
# SMS benchmark: texts planned, submitted over SMPP (camel-smpp, one transceiver bind) and delivered (the receipt
# processed) per second, the hub in-process on its embedded defaults, beside a raw jsmpp client submitting the same
# text to the same local SMSC in the same run. Extra arguments go to the benchmark (e.g. --rounds 5 --messages 8000).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B verify -DskipTests
mvn -q -B -f bench package
java -Xms1g -Xmx1g -XX:+UseG1GC -cp "bench/target/classes:$(cat bench/target/hub.classpath)" io.caravan.bench.SmsBench "$@"
