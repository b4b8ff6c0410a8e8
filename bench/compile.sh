# Sourced by the benchmark scripts: packages the hub, resolves its runtime classpath and compiles one benchmark
# source against it. Needs $bench (e.g. email) and $main (its source file); sets $out and $cp.
mvn -q -B package -DskipTests
cp=target/$bench-bench.classpath
mvn -q -B dependency:build-classpath -Dmdep.outputFile="$cp" -Dmdep.includeScope=runtime
out=target/$bench-bench-classes
rm -rf "$out"; mkdir -p "$out"
javac -d "$out" -cp "target/classes:$(cat "$cp")" "$main"
