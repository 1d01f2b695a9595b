#!/bin/sh
# Turns the standby in DATA_DIR into the primary after the primary is lost (make sure the old primary is down and stays
# down: both writing is worse than neither). With its peer gone, the new primary stops waiting for a synchronous standby,
# so the bridges can write again; resume-synchronous.sh restores the wait once a new standby streams (make-standby.sh).
# Run as the postgres OS user on the standby's machine (PGHOST/PGPORT as for psql). Usage: promote.sh DATA_DIR
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DATA_DIR" >&2; exit 2; }
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}

"$bin/pg_ctl" promote -D "$1" -w -t 60
"$bin/psql" -X -q -v ON_ERROR_STOP=1 -d postgres \
    -c "ALTER SYSTEM SET synchronous_standby_names = ''" -c "SELECT pg_reload_conf()" >/dev/null
