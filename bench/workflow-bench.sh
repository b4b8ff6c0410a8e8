#!/usr/bin/env bash
# Workflow benchmark: N contacts (default 20,000; the issue's figure is --contacts 100000) enter a 3-step journey
# whose timers all fall due at once; steps per second, the lateness of due steps, and sends per second beside the
# same sends made directly. The hub runs in-process on its embedded defaults, fixed 1 GiB heap.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B package -DskipTests
cp=target/bench.classpath
mvn -q -B dependency:build-classpath -Dmdep.outputFile="$cp" -Dmdep.includeScope=runtime
out=target/workflow-bench-classes
rm -rf "$out"; mkdir -p "$out"
javac -d "$out" -cp "target/classes:$(cat "$cp")" bench/workflow/io/caravan/bench/WorkflowBench.java
java -Xms1g -Xmx1g -XX:+UseG1GC -cp "$out:target/classes:$(cat "$cp")" io.caravan.bench.WorkflowBench "$@"
