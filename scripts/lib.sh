# scripts/lib.sh: shared set-up for scripts/demo.sh, scripts/test.sh and
# bench/run.sh. Sourced, not run.
#
# Installs missing Debian packages, builds and installs ai_guard, and runs a
# throwaway PostgreSQL 15 cluster in a temporary directory that listens on a
# Unix socket only. The machine's own clusters (15/main) are never touched:
# nothing here uses pg_ctlcluster, the default socket directory or port.

set -euo pipefail

AG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AG_PG_MAJOR=15
AG_BINDIR=/usr/lib/postgresql/$AG_PG_MAJOR/bin
AG_PACKAGES=(
	make gcc libc6-dev
	postgresql-$AG_PG_MAJOR postgresql-server-dev-$AG_PG_MAJOR
	postgresql-client-$AG_PG_MAJOR postgresql-$AG_PG_MAJOR-pgtap
	libtap-parser-sourcehandler-pgtap-perl
	libssl-dev libpq-dev libcmocka-dev
	python3 python3-psycopg2 python3-jsonschema python3-rfc3987 graphviz
)

ag_say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
ag_die() { printf 'error: %s\n' "$*" >&2; exit 2; }

ag_is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as the user that owns the throwaway cluster: initdb refuses
# root, so as root that is "postgres".
ag_as_pg() {
	if ag_is_root; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Installs the Debian packages in AG_PACKAGES (plus any given) that are missing.
ag_ensure_packages() {
	local missing=() p
	for p in "${AG_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	ag_is_root || ag_die "missing packages: ${missing[*]} (run as root, or install them)"
	ag_say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Every script installs into the one PostgreSQL on the machine and tests what
# it installed, so two scripts at once would test each other's builds: the
# lock, held until the script exits, makes them take turns.
ag_lock() {
	[ -n "${AG_LOCKED:-}" ] && return 0	# a parent script holds it
	export AG_LOCKED=1
	exec 9>/tmp/ai_guard-install.lock
	if ! flock -n 9; then
		ag_say "waiting for another ai_guard script to finish"
		flock 9
	fi
}

ag_build_install() {
	ag_lock
	ag_say "building and installing ai_guard"
	make -C "$AG_TOP" -s -j2 PG_CONFIG="$AG_BINDIR/pg_config" >/dev/null
	if ag_is_root; then
		make -C "$AG_TOP" -s PG_CONFIG="$AG_BINDIR/pg_config" install >/dev/null
	else
		sudo make -C "$AG_TOP" -s PG_CONFIG="$AG_BINDIR/pg_config" install >/dev/null
	fi
}

# ag_cluster_start [preload]: initdb and start a cluster in a new temporary
# directory; exports PGHOST, PGPORT, PGUSER for the clients. With "nopreload"
# the library is not in shared_preload_libraries.
ag_cluster_start() {
	local preload=${1:-preload}
	AG_TMP=$(mktemp -d /tmp/ai_guard.XXXXXX)
	AG_DATA=$AG_TMP/data
	AG_SOCK=$AG_TMP/socket
	mkdir -p "$AG_SOCK"
	ag_is_root && chown -R postgres:postgres "$AG_TMP"
	trap ag_cluster_cleanup EXIT

	ag_say "starting a throwaway cluster in $AG_TMP"
	ag_as_pg "$AG_BINDIR/initdb" -D "$AG_DATA" -U postgres -A trust \
		--encoding=UTF8 --locale=C --no-sync >"$AG_TMP/initdb.log" 2>&1 ||
		{ cat "$AG_TMP/initdb.log" >&2; ag_die "initdb failed"; }
	cat >>"$AG_DATA/postgresql.conf" <<CONF
# throwaway cluster for ai_guard: Unix socket only
listen_addresses = ''
unix_socket_directories = '$AG_SOCK'
port = 54329
max_connections = 60
shared_buffers = 256MB
log_min_messages = warning
timezone = 'UTC'
CONF
	# a fresh random master key for ai_guard's keyring (docs/encryption.md)
	AG_MASTER_KEY_FILE=$AG_TMP/master.key
	(umask 077 && od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$AG_MASTER_KEY_FILE")
	ag_is_root && chown postgres:postgres "$AG_MASTER_KEY_FILE"
	chmod 0600 "$AG_MASTER_KEY_FILE"
	echo "ai_guard.master_key_file = '$AG_MASTER_KEY_FILE'" >>"$AG_DATA/postgresql.conf"
	ag_cluster_set_preload "$preload"
	export PGHOST=$AG_SOCK PGPORT=54329 PGUSER=postgres PGDATABASE=postgres
	ag_cluster_ctl start
}

ag_cluster_set_preload() {
	local libs="ai_guard"
	[ "${1:-preload}" = nopreload ] && libs=""
	sed -i '/^shared_preload_libraries/d' "$AG_DATA/postgresql.conf"
	echo "shared_preload_libraries = '$libs'" >>"$AG_DATA/postgresql.conf"
}

# ag_cluster_ctl start|stop|restart
ag_cluster_ctl() {
	ag_as_pg "$AG_BINDIR/pg_ctl" -D "$AG_DATA" -l "$AG_TMP/server.log" -w -t 60 \
		-m fast "$1" >/dev/null ||
		{ tail -n 30 "$AG_TMP/server.log" >&2; ag_die "pg_ctl $1 failed"; }
}

ag_cluster_cleanup() {
	[ -n "${AG_TMP:-}" ] || return 0
	if [ -f "$AG_DATA/postmaster.pid" ]; then
		ag_as_pg "$AG_BINDIR/pg_ctl" -D "$AG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ -n "${AG_KEEP:-}" ]; then
		ag_say "kept $AG_TMP (AG_KEEP is set)"
	else
		rm -rf "$AG_TMP"
	fi
	AG_TMP=
}

# Creates the demo tables in the current database and loads N rows of each.
ag_load_demo_data() {
	local scale=${1:-1000} seed=${2:-42}
	psql -X -q -v ON_ERROR_STOP=1 -f "$AG_TOP/demo/schema.sql"
	"$AG_TOP/tools/datagen/datagen" --table customers --scale "$scale" --seed "$seed" |
		psql -X -q -v ON_ERROR_STOP=1 -c 'COPY demo.customers FROM STDIN'
	"$AG_TOP/tools/datagen/datagen" --table tickets --scale "$scale" --seed "$seed" |
		psql -X -q -v ON_ERROR_STOP=1 -c 'COPY demo.tickets FROM STDIN'
	psql -X -q -v ON_ERROR_STOP=1 -c 'ANALYZE demo.customers, demo.tickets'
}
