#!/usr/bin/env bash
# Event stream benchmark: trigger events per second from the event log through an outbound Kafka destination (gate
# decision and disclosure audited, outbox committed, camel-kafka acks=all, marked delivered), the hub in-process on
# its embedded defaults, beside a plain Kafka producer (acks=all, idempotent) sending payloads of the same form to the
# same embedded KRaft broker in the same run. Extra arguments go to the benchmark (e.g. --rounds 5 --events 50000).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B verify -DskipTests
mvn -q -B -f bench package
java -Xms1g -Xmx1g -XX:+UseG1GC -cp "bench/target/classes:$(cat bench/target/hub.classpath)" io.caravan.bench.StreamBench "$@"
