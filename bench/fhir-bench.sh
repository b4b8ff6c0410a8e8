#!/usr/bin/env bash
# FHIR intake benchmark, the hub in-process on its embedded defaults (H2, journal fsync'd: power-loss durable), in
# one JVM with a fixed 1 GiB heap: (1) NDJSON Patients imported per second through the folder import
# (POST /api/fhir/imports) beside HAPI's parse-only rate of the same file; (2) a polling catch-up of changed Patients
# over pages of 100 from an in-process HAPI RestfulServer beside a bare HAPI client paging the same search.
# Extra arguments go to the benchmark (e.g. --rounds 3 --patients 20000 --changed 10000 --only import,poll).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B verify -DskipTests
mvn -q -B -f bench package
# this checkout's classes first: the plain jar in ~/.m2 is whichever checkout built last
java -Xms1g -Xmx1g -XX:+UseG1GC -cp "bench/target/classes:target/classes:$(cat bench/target/hub.classpath)" \
  io.caravan.bench.FhirBench "$@"
