#!/bin/sh
# Makes the primary wait again for its synchronous standby (anshimi.conf's synchronous_standby_names), once the standby
# made by make-standby.sh streams; waits up to 60 s for it. Run as the postgres OS user on the primary's machine
# (PGHOST/PGPORT as for psql). Usage: resume-synchronous.sh MEMBER_NAME   (the standby's name)
set -eu
[ $# -eq 1 ] || { echo "usage: $0 MEMBER_NAME" >&2; exit 2; }
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}

for _ in $(seq 60); do
    state=$(echo "SELECT state FROM pg_stat_replication WHERE application_name = :'member';" \
        | "$bin/psql" -X -At -d postgres -v member="$1" 2>/dev/null || true)
    [ "$state" = streaming ] && break
    sleep 1
done
[ "$state" = streaming ] || { echo "standby $1 is not streaming from this primary" >&2; exit 1; }
"$bin/psql" -X -q -v ON_ERROR_STOP=1 -d postgres \
    -c "ALTER SYSTEM RESET synchronous_standby_names" -c "SELECT pg_reload_conf()" >/dev/null
