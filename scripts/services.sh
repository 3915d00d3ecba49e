#!/usr/bin/env bash
# PostgreSQL and Redis for the distributed profile and its tests: installed from Debian's
# packages when missing, started as local processes listening on loopback only.
#
#   scripts/services.sh start [DIR]    install if needed, start both, create the databases
#   scripts/services.sh stop [DIR]
#   scripts/services.sh status [DIR]
#   scripts/services.sh env [DIR]      print the URLs to export
#
# DIR (default: .mesh/services) holds the data, sockets and logs (run as root under a folder the
# postgres user cannot enter, Postgres's part goes to /var/lib/postgresql/mesh-<hash of DIR>). Ports: MESH_PG_PORT (55432)
# and MESH_REDIS_PORT (56379). Postgres trusts connections only from 127.0.0.1, so it is for a
# developer's machine and CI, not a shared host: point mesh.toml and Airflow at your own servers
# there (README, "Running on more than one machine").
set -euo pipefail

command=${1:-start}
DIR=$(realpath -m "${2:-${MESH_SERVICES_DIR:-.mesh/services}}")
PGPORT=${MESH_PG_PORT:-55432}
REDIS_PORT=${MESH_REDIS_PORT:-56379}
DATABASES=(airflow mesh_state)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

install_missing() {
    local packages=()
    [ -n "$(pg_bin)" ] || packages+=(postgresql)
    command -v redis-server >/dev/null || packages+=(redis-server)
    [ ${#packages[@]} -eq 0 ] && return 0
    echo "installing ${packages[*]} from Debian's packages" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    # the packages' own services are not used: stop any the install started
    as_root service postgresql stop >/dev/null 2>&1 || true
    as_root service redis-server stop >/dev/null 2>&1 || true
}

# Postgres refuses to run as root: run it as the postgres user the package created.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Postgres's folder: DIR/postgres, unless the postgres user cannot reach DIR (run as root under a
# private folder, a 0700 home or temporary folder): then /var/lib/postgresql/mesh-<hash of DIR>.
pg_dir() {
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$DIR" 2>/dev/null; then
        echo "/var/lib/postgresql/mesh-$(printf %s "$DIR" | sha256sum | cut -c1-12)"
    else
        echo "$DIR/postgres"
    fi
}

start_postgres() {
    local bin pg; bin=$(pg_bin)
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    pg=$(pg_dir)
    mkdir -p "$pg"
    chmod 755 "$pg"
    [ "$(id -u)" = 0 ] && chown postgres: "$pg"
    if [ ! -f "$pg/data/PG_VERSION" ]; then
        as_pg "$bin/initdb" -D "$pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    if ! as_pg "$bin/pg_ctl" -D "$pg/data" status >/dev/null 2>&1; then
        as_pg "$bin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w -t 60 \
            -o "-p $PGPORT -k $pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
    fi
    if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; then
        echo "the PostgreSQL server of $pg/data runs, but not on port $PGPORT: stop it ($0 stop with the" \
             "MESH_PG_PORT it was started with) or set MESH_PG_PORT to its port" >&2
        exit 1
    fi
    for db in "${DATABASES[@]}"; do
        "$bin/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "select 1 from pg_database where datname='$db'" \
            | grep -q 1 || "$bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "$db"
    done
}

start_redis() {
    mkdir -p "$DIR/redis"
    if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$DIR/redis" \
            --pidfile "$DIR/redis/redis.pid" --logfile "$DIR/redis/redis.log" --save '' --appendonly no
        for _ in $(seq 1 100); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    fi
}

print_env() {
    echo "export MESH_PG_URL=postgresql://postgres@127.0.0.1:$PGPORT"
    echo "export MESH_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

case "$command" in
    start)
        install_missing
        start_postgres
        start_redis
        print_env
        ;;
    stop)
        bin=$(pg_bin)
        pg=$(pg_dir)
        [ -n "$bin" ] && [ -d "$pg/data" ] && as_pg "$bin/pg_ctl" -D "$pg/data" -m fast stop >/dev/null 2>&1 || true
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        ;;
    status)
        bin=$(pg_bin)
        "$bin/pg_isready" -h 127.0.0.1 -p "$PGPORT"
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping
        ;;
    env)
        print_env
        ;;
    *)
        echo "usage: $0 start|stop|status|env [DIR]" >&2
        exit 2
        ;;
esac
