#!/bin/sh
# Makes the first member of the Anshimi PostgreSQL pair: a new data directory with page checksums, the pair's settings
# (anshimi.conf) and access rules (pg_hba.conf). It starts alone, not waiting for a synchronous standby (there is none
# yet): resume-synchronous.sh turns the wait on once make-standby.sh's standby streams. Run as the postgres OS user,
# then start the server and run create-database.sh.
# Usage: init-primary.sh DATA_DIR MEMBER_NAME   (MEMBER_NAME: anshimi_db1 or anshimi_db2)
set -eu
[ $# -eq 2 ] || { echo "usage: $0 DATA_DIR MEMBER_NAME" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
data=$1
member=$2
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}

"$bin/initdb" -D "$data" --data-checksums -E UTF8 --locale=C.UTF-8 --no-instructions
cp "$here/anshimi.conf" "$data/anshimi.conf"
cp "$here/pg_hba.conf" "$data/pg_hba.conf"
printf "\ninclude 'anshimi.conf'\ncluster_name = '%s'\n" "$member" >> "$data/postgresql.conf"
# As ALTER SYSTEM would write it, so resume-synchronous.sh's ALTER SYSTEM RESET brings back anshimi.conf's value.
echo "synchronous_standby_names = ''" >> "$data/postgresql.auto.conf"
