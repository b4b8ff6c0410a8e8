# Sourced by the benchmark scripts: a durable private PostgreSQL (fsync and synchronous_commit on, as in
# production) on a free port, stopped and removed on exit. Sets $pg_url (JDBC, user in the URL) and $pg_db.
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pgdir=$(mktemp -d /tmp/caravan-bench-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$pgdir"; as_pg=(runuser -u postgres --); fi
"${as_pg[@]}" "$bin/initdb" -D "$pgdir/data" -A trust -U postgres -E UTF8 >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c shared_buffers=256MB" start >/dev/null
trap '"${as_pg[@]}" "$bin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null; rm -rf "$pgdir"' EXIT
"${as_pg[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE ${pg_db:-caravan_bench}"
pg_url="jdbc:postgresql://127.0.0.1:$port/${pg_db:-caravan_bench}?user=postgres"
