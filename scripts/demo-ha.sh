# The city's high-availability cloud for the demo (`make demo-ha`, sourced by scripts/demo.sh when ANSHIMI_HA=1):
# a local PostgreSQL, a three-node RabbitMQ cluster as the cloud's MQTT endpoint (TLS, configuration and definitions
# written by the cloud bridge's `endpoint config --broker rabbitmq`) and two cloud-bridge instances, each with its own
# identity (`bridges issue`) and console port, on the one database. The boxes are those of `make demo`, linked to all three nodes.
pg_port=${ANSHIMI_PG_PORT:-18432}
console_port_b=${ANSHIMI_CONSOLE_PORT_B:-18090}
bridge_admin_port_b=${ANSHIMI_BRIDGE_ADMIN_PORT_B:-18096}
epmd_port=${ANSHIMI_EPMD_PORT:-18369}
# Each node's MQTT port: the cloud endpoint's port, +10, +20; its Erlang distribution port: 18401…18403.
ha_nodes=(1 2 3)
ha_mqtt_port() { echo $((cloud_mqtt_port + ($1 - 1) * 10)); }
ha_node_name() { echo "anshimi-demo-$1@localhost"; }
rabbit=/usr/lib/rabbitmq/bin
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

# The cloud's processes are killed by hand in this demo, so the demo does not stop when one exits: they are kept apart
# from the boxes' processes and stopped by ha_stop.
ha_pids=()

# Runs a PostgreSQL program as the postgres user when root (initdb and postgres refuse root).
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# Certificates, each node's rabbitmq.conf and the definitions, the Erlang cookie, the database's files.
ha_prepare() {
  [ -x "$rabbit/rabbitmq-server" ] || { echo "rabbitmq-server is missing (make deps)" >&2; exit 1; }
  [ -n "$pg_bin" ] || { echo "postgresql is missing (make deps)" >&2; exit 1; }
  export CloudBridge__DataDirectory="$state/cloud" Sites__RabbitMqDefinitionsFile="$state/endpoint/definitions.json"
  "${cloud_bridge[@]}" endpoint init --host 127.0.0.1 --host localhost >/dev/null
  for instance in a b; do "${cloud_bridge[@]}" bridges issue "$instance" --out "$state/bridge-$instance" >/dev/null; done
  "${cloud_bridge[@]}" gateways issue "$gateway_id" --out "$state/gateway-cloud" >/dev/null
  "${cloud_bridge[@]}" gateways issue "$gateway_id_b" --out "$state/box-b/gateway-cloud" >/dev/null
  mkdir -p "$state/rabbit/home"
  head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$state/rabbit/home/.erlang.cookie"
  chmod 400 "$state/rabbit/home/.erlang.cookie"
  echo "[rabbitmq_mqtt]." > "$state/rabbit/enabled_plugins"
  local nodes=() n
  for n in "${ha_nodes[@]}"; do nodes+=(--node "$(ha_node_name "$n")"); done
  for n in "${ha_nodes[@]}"; do
    mkdir -p "$state/rabbit/node$n/mnesia"
    { echo "log.file.level = info"; echo "log.console = false"
      "${cloud_bridge[@]}" endpoint config --broker rabbitmq --port "$(ha_mqtt_port "$n")" --bind 127.0.0.1 "${nodes[@]}" \
        --definitions "$state/endpoint/definitions.json"; } > "$state/rabbit/node$n/rabbitmq.conf"
  done
  unset CloudBridge__DataDirectory Sites__RabbitMqDefinitionsFile
  # The database's own directory, owned by the postgres user (who must reach it through .demo-ha).
  mkdir -p "$state/postgres"
  if [ "$(id -u)" = 0 ]; then chmod 711 "$state"; chown postgres "$state/postgres"; fi
  as_postgres "$pg_bin/initdb" -D "$state/postgres/data" -U postgres --auth=trust -E UTF8 --no-instructions >"$state/logs/initdb.log"
}

ha_rabbit_env() { # node
  echo HOME="$state/rabbit/home" ERL_EPMD_PORT="$epmd_port" RABBITMQ_NODENAME="$(ha_node_name "$1")" RABBITMQ_DIST_PORT=$((18400 + $1)) \
    RABBITMQ_CONFIG_FILE="$state/rabbit/node$1/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$state/rabbit/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$state/rabbit/node$1/mnesia" RABBITMQ_LOG_BASE="$state/rabbit/node$1" RABBITMQ_LOGS="$state/logs/rabbit-$1.log" \
    RABBITMQ_PID_FILE="$state/rabbit/node$1/pid" ERL_CRASH_DUMP="$state/rabbit/node$1/erl_crash.dump"
}
# Each node's start command is also a script, so that a killed node can be started again by hand.
ha_start_node() {
  printf '#!/bin/sh\nexec env %s %s/rabbitmq-server >/dev/null 2>&1\n' "$(ha_rabbit_env "$1")" "$rabbit" > "$state/rabbit/start-node$1.sh"
  sh "$state/rabbit/start-node$1.sh" & ha_pids+=($!)
}
ha_ctl() { env HOME="$state/rabbit/home" ERL_EPMD_PORT="$epmd_port" "$rabbit/rabbitmqctl" -n "$(ha_node_name "$1")" "${@:2}"; }

# PostgreSQL, then the first node alone and the two that join it (booted at once, 3.10 nodes refuse MQTT clients).
ha_start_cloud() {
  echo "▶ PostgreSQL 127.0.0.1:$pg_port, RabbitMQ 3노드 클러스터 / three-node cluster (about a minute)"
  as_postgres "$pg_bin/postgres" -D "$state/postgres/data" -p "$pg_port" -k "$state/postgres" -c listen_addresses=127.0.0.1 \
    >"$state/logs/postgres.log" 2>&1 & ha_pids+=($!)
  /usr/bin/epmd -port "$epmd_port" & ha_pids+=($!)
  wait_port "$pg_port"
  as_postgres "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres anshimi
  ha_start_node 1
  ha_await_node 1
  ha_start_node 2; ha_start_node 3
  ha_await_node 2
  ha_await_node 3
}

ha_await_node() { # node: until it has started, for at most 5 minutes
  for _ in $(seq 1 60); do ha_ctl "$1" --timeout 60 await_startup >/dev/null 2>&1 && return 0; sleep 5; done
  echo "RabbitMQ node $1 did not start; see $state/logs/rabbit-$1.log" >&2; return 1
}

# One bridge instance: its own identity, console and admin ports, on the shared database; every node in its endpoint list.
ha_start_bridge() { # instance console-port admin-port first-node
  local endpoints=() i
  for i in 0 1 2; do endpoints+=("Mqtt__Endpoints__$i=127.0.0.1:$(ha_mqtt_port $(( (i + $4 - 1) % 3 + 1 )))"); done
  env "${endpoints[@]}" CloudBridge__DataDirectory="$state/cloud-$1" CloudBridge__DistrictsGeoJson="$districts" \
  Storage__Provider=PostgreSql Storage__ConnectionString="Host=127.0.0.1;Port=$pg_port;Database=anshimi;Username=postgres" \
  Mqtt__TlsCaFile="$state/bridge-$1/ca.crt" Mqtt__TlsClientCertificateFile="$state/bridge-$1/bridge.crt" Mqtt__TlsClientKeyFile="$state/bridge-$1/bridge.key" \
  Urls="http://127.0.0.1:$2" CloudBridge__AdminUrl="http://127.0.0.1:$3" Operators__CookieSecurePolicy=SameAsRequest \
  Operators__Seed__0__UserName=central Operators__Seed__0__Password="$central_password" Operators__Seed__0__Central=true \
  Operators__Seed__1__UserName=gangnam Operators__Seed__1__Password="$gangnam_password" Operators__Seed__1__Districts__0=11680 \
  Escorts__LightsFile="$state/cloud-lights.csv" Escorts__EscortKey="$escort_key" \
  AppApi__Clients__0__Name=demo-app AppApi__Clients__0__KeySha256="$(printf %s "$app_key" | sha256sum | cut -d' ' -f1)" \
    dotnet "$(bin cloud-bridge/Anshimi.CloudBridge Anshimi.CloudBridge)" >"$state/logs/cloud-bridge-$1.log" 2>&1 & ha_pids+=($!)
  eval "bridge_pid_$1=$!"
}

ha_start_bridges() {
  ha_start_bridge a "$console_port" "$bridge_admin_port" 1
  wait_port "$console_port"
  ha_start_bridge b "$console_port_b" "$bridge_admin_port_b" 2
  wait_port "$console_port_b"
}

ha_stop() {
  local n pid
  for pid in "${ha_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Through their pid files: a part may have been killed and started again by hand.
  for n in "${ha_nodes[@]}"; do [ -f "$state/rabbit/node$n/pid" ] && kill -TERM "$(cat "$state/rabbit/node$n/pid")" 2>/dev/null || true; done
  [ -f "$state/postgres/data/postmaster.pid" ] && kill -INT "$(head -n 1 "$state/postgres/data/postmaster.pid")" 2>/dev/null || true
}

ha_cloud_url() { local n urls=(); for n in "${ha_nodes[@]}"; do urls+=("mqtts://127.0.0.1:$(ha_mqtt_port "$n")"); done; (IFS=,; echo "${urls[*]}"); }

ha_info() {
  local n
  cat <<INFO

  ── 고가용성 구성 High availability (make demo-ha) ──
  관제 콘솔 두 곳 Two consoles, one database: instance a http://127.0.0.1:$console_port/   instance b http://127.0.0.1:$console_port_b/
  클라우드 엔드포인트 Cloud endpoint: RabbitMQ cluster $(ha_cloud_url) (users: $state/endpoint/definitions.json)
  장애 시험 Kill a part (kill -9), press a bell again, and watch the other console carry on:
    브리지 a 인스턴스 bridge instance a : kill -9 $bridge_pid_a   (then watch http://127.0.0.1:$console_port_b/)
    브리지 b 인스턴스 bridge instance b : kill -9 $bridge_pid_b   (then watch http://127.0.0.1:$console_port/)
INFO
  for n in "${ha_nodes[@]}"; do
    echo "    RabbitMQ 노드 node $n (:$(ha_mqtt_port "$n"))   : kill -9 $(cat "$state/rabbit/node$n/pid")   (gateways and bridges move to another node;"
    echo "        start it again: sh $state/rabbit/start-node$n.sh &)"
  done
  cat <<INFO
    PostgreSQL               : kill -9 $(head -n 1 "$state/postgres/data/postmaster.pid")   (the bridges wait and retry their writes for 30 s; restart:
        $( [ "$(id -u)" = 0 ] && echo "runuser -u postgres -- ")$pg_bin/postgres -D $state/postgres/data -p $pg_port -k $state/postgres -c listen_addresses=127.0.0.1 &)
    저장된 경보 Alarms stored: $( [ "$(id -u)" = 0 ] && echo "runuser -u postgres -- ")$pg_bin/psql -h 127.0.0.1 -p $pg_port -U postgres anshimi -c 'select count(*) from alarms'
  상자 B 인증서 폐기 Revoke box B (its cluster user is deleted and its connection closed at once):
    CloudBridge__DataDirectory=$state/cloud Sites__RabbitMqDefinitionsFile=$state/endpoint/definitions.json \\
      Sites__RabbitMqCtl="env HOME=$state/rabbit/home ERL_EPMD_PORT=$epmd_port $rabbit/rabbitmqctl -n $(ha_node_name 1)" ${cloud_bridge[*]} gateways revoke $gateway_id_b
INFO
}
