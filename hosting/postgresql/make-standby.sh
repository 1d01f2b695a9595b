#!/bin/sh
# Makes a synchronous standby of the current primary: a base backup over the replication account into an empty
# DATA_DIR, with -R so it starts as a standby streaming from that primary through its own replication slot (named after
# the member, so the primary keeps the WAL this standby still needs). Run as the postgres OS user on the standby's
# machine with ANSHIMI_REPLICATION_PASSWORD set, then start the server and run resume-synchronous.sh on the primary.
# Also how a failed primary rejoins as a standby of the new one (after moving its old data directory away).
# Usage: make-standby.sh PRIMARY_HOST PRIMARY_PORT DATA_DIR MEMBER_NAME
set -eu
[ $# -eq 4 ] || { echo "usage: $0 PRIMARY_HOST PRIMARY_PORT DATA_DIR MEMBER_NAME" >&2; exit 2; }
: "${ANSHIMI_REPLICATION_PASSWORD:?set ANSHIMI_REPLICATION_PASSWORD}"
primary_host=$1
primary_port=$2
data=$3
member=$4
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}

if [ -d "$data" ] && [ -n "$(ls -A "$data")" ]; then
    echo "$data is not empty: move the old data directory away first" >&2
    exit 1
fi

# A slot left by an earlier attempt would make --create-slot fail; an active one is a live standby and stays.
PGPASSWORD=$ANSHIMI_REPLICATION_PASSWORD "$bin/psql" -X -q -v ON_ERROR_STOP=1 \
    "host=$primary_host port=$primary_port user=replicator dbname=postgres replication=true" \
    -c "DROP_REPLICATION_SLOT $member" 2>/dev/null || true

# The member name goes into primary_conninfo as application_name: synchronous_standby_names waits for it by name.
PGPASSWORD=$ANSHIMI_REPLICATION_PASSWORD "$bin/pg_basebackup" \
    -d "host=$primary_host port=$primary_port user=replicator application_name=$member" \
    -D "$data" --write-recovery-conf --wal-method=stream --create-slot --slot="$member" --checkpoint=fast
sed -i "s/^cluster_name = .*/cluster_name = '$member'/" "$data/postgresql.conf"
