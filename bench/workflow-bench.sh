#!/usr/bin/env bash
# Workflow benchmark: N contacts (default 20,000; the issue's figure is --contacts 100000) enter a 3-step journey
# whose timers all fall due at once; steps per second, the lateness of due steps, and sends per second beside the
# same sends made directly. The hub runs in-process on its embedded defaults, fixed 1 GiB heap.
set -euo pipefail
cd "$(dirname "$0")/.."
# the hub (and its plain classes for bench/), then bench/ with the hub's runtime classpath
mvn -q -B verify -DskipTests
mvn -q -B -f bench package
java -Xms1g -Xmx1g -XX:+UseG1GC -cp "bench/target/classes:$(cat bench/target/hub.classpath)" io.caravan.bench.WorkflowBench "$@"
