#!/usr/bin/env bash
# Workflow benchmark: N contacts (default 20,000; the issue's figure is --contacts 100000) enter a 3-step journey
# whose timers all fall due at once; steps per second, the lateness of due steps, and sends per second beside the
# same sends made directly. The hub runs in-process on its embedded defaults, fixed 1 GiB heap.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=workflow main=bench/workflow/io/caravan/bench/WorkflowBench.java source bench/compile.sh
java -Xms1g -Xmx1g -XX:+UseG1GC -cp "$out:target/classes:$(cat "$cp")" io.caravan.bench.WorkflowBench "$@"
