#!/bin/sh
# Creates the bridges' account and database and the replication account on the primary. Run as the postgres OS user
# on the primary's machine (PGHOST/PGPORT as for psql), with the two passwords in the environment:
# ANSHIMI_DB_PASSWORD (account anshimi, in the bridges' Storage:ConnectionString) and
# ANSHIMI_REPLICATION_PASSWORD (account replicator, used by make-standby.sh).
set -eu
: "${ANSHIMI_DB_PASSWORD:?set ANSHIMI_DB_PASSWORD}"
: "${ANSHIMI_REPLICATION_PASSWORD:?set ANSHIMI_REPLICATION_PASSWORD}"
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}

"$bin/psql" -X -v ON_ERROR_STOP=1 -d postgres \
    -v bridge_password="$ANSHIMI_DB_PASSWORD" -v replication_password="$ANSHIMI_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'replication_password';
CREATE ROLE anshimi WITH LOGIN PASSWORD :'bridge_password';
CREATE DATABASE anshimi OWNER anshimi;
SQL
