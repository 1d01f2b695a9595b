#!/usr/bin/env bash
# Starts a whole Anshimi system on this machine in its real shape: two gateway boxes — 강북 (north of
# the Han river, with smart streetlights at 300 real security lights of 광진구 화양동) and 강남 (south) —
# each with its own Mosquitto (own config, data directory and ports), its own gateway with its simulated
# BLE airspace and its own simulated bells and doorbells in its own districts; and the cloud: its MQTT
# endpoint (Mosquitto, TLS, client certificates made at start by the cloud bridge's commands) and the
# cloud bridge with the app API. Ctrl-C stops everything. Ports can be moved with the variables below.
# ANSHIMI_HA=1 (make demo-ha) runs the cloud as the city does instead: PostgreSQL, a three-node RabbitMQ cluster and
# two bridge instances (scripts/demo-ha.sh), in .demo-ha/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
configuration=${1:-Debug}
mqtt_port=${ANSHIMI_MQTT_PORT:-18830}
console_port=${ANSHIMI_CONSOLE_PORT:-18080}
gateway_port=${ANSHIMI_GATEWAY_PORT:-18081}
sim_port=${ANSHIMI_SIM_PORT:-18082}
new_device_port=${ANSHIMI_NEW_DEVICE_PORT:-18083}
bridge_admin_port=${ANSHIMI_BRIDGE_ADMIN_PORT:-18086}
airspace_port=${ANSHIMI_AIRSPACE_PORT:-18850}
# The second box (강남) and the cloud's MQTT endpoint.
mqtt_port_b=${ANSHIMI_B_MQTT_PORT:-18832}
gateway_port_b=${ANSHIMI_B_GATEWAY_PORT:-18084}
sim_port_b=${ANSHIMI_B_SIM_PORT:-18085}
airspace_port_b=${ANSHIMI_B_AIRSPACE_PORT:-18851}
cloud_mqtt_port=${ANSHIMI_CLOUD_MQTT_PORT:-18883}
bells=${ANSHIMI_BELLS:-25}
lights=${ANSHIMI_LIGHTS:-300}
gateway_id=gw-gangbuk
gateway_id_b=gw-gangnam
# A factory-fresh bell waiting for the installer (not in the fleet file).
new_device=0000D001
# The lit neighbourhood: the real security lights (보안등) of 광진구 nearest 화양동's centre (firmware/README.md).
security_lights="$repo/../shared/data/gwangjin-security-lights.csv"
districts="$repo/../shared/data/seoul-municipalities.geojson"
[ -f "$districts" ] || districts="$repo/data/seoul-municipalities.geojson"

bin() { echo "$repo/$1/bin/$configuration/net10.0/$2.dll"; }
sim=(dotnet "$(bin firmware/Anshimi.DeviceSim anshimi-sim)")
installer=(dotnet "$(bin gateway/Anshimi.Installer anshimi-installer)")
cloud_bridge=(dotnet "$(bin cloud-bridge/Anshimi.CloudBridge Anshimi.CloudBridge)")

ha=${ANSHIMI_HA:-0}
state="$repo/.demo"
[ "$ha" = 1 ] && state="$repo/.demo-ha"
rm -rf "$state" && mkdir -p "$state"/{broker,gateway,cloud,sim,new-device,logs,endpoint/data} "$state"/box-b/{broker,gateway,sim}
chmod 700 "$state"

secret() { head -c 24 /dev/urandom | base64 | tr -d '/+=' ; }
gateway_password=$(secret)
gateway_password_b=$(secret)
central_password=$(secret)
gangnam_password=$(secret)
provisioner_password=$(secret)
app_key=$(secret)
escort_key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

# The factory images of the Wi-Fi bells, the doorbells and the streetlights (in the carousel's 256-byte chunks): releases
# signed now by anshimi-release with a fresh city key, which the devices' loaders and the cloud (Firmware:ReleaseKeys)
# trust. Each .pe is a simulated image (the host cannot run nanoFramework code).
release=(dotnet "$(bin firmware/Anshimi.Release anshimi-release)")
mkdir -p "$state/release"
"${release[@]}" keygen --out "$state/release/city-release.key" >/dev/null
pack_release() { # application version out-name pack-options…
  printf 'anshimi simulated application %s %s\nbehaviour: normal\n' "$1" "$2" >"$state/release/$1.pe"
  "${release[@]}" pack --key "$state/release/city-release.key" --version "$2" --entry "$1.Program" "${@:4}" \
    --out "$state/release/$3-$2.arel" "$state/release/$1.pe" >/dev/null
}
pack_release Anshimi.Bell.Device 1.0.0 bell --kind home --kind shop --kind voice --board home-bell --board voice-bell
pack_release Anshimi.Doorbell.Device 1.0.0 doorbell --kind doorbell --board doorbell
pack_release Anshimi.Streetlight 1.0.0 streetlight --kind streetlight --board streetlight --chunk-size 256
factory=(--release-key "$state/release/city-release.key.pub")
for family in bell doorbell streetlight; do factory+=(--factory-release "$state/release/$family-1.0.0.arel"); done
export Firmware__ReleaseKeys__0="$(cat "$state/release/city-release.key.pub")"

echo "▶ 모의 장치 생성 / generating ${bells} bells and doorbells and ${lights} streetlights"
"${sim[@]}" fleet --count "$bells" --profiles home,shop,voice,battery,doorbell --streetlights "$lights" --security-lights "$security_lights" \
  --gateway-id "$gateway_id" --districts "$districts" --out "$state/fleet.json" >/dev/null
# The cloud bridge's lights file (cloud-bridge/README.md) lists the same streetlights.
python3 - "$state/fleet.json" "$state/cloud-lights.csv" <<'PY'
import json, sys
fleet = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as out:
    out.write("light_id,district_code,gateway_id,lat,lon\n")
    for d in fleet["devices"]:
        if d["profile"] == "streetlight":
            out.write(f'{d["deviceId"]},{d["districtCode"]},{fleet["gatewayId"]},{d["site"]["lat"]},{d["site"]["lon"]}\n')
PY
# One fleet, split into the two boxes by district: north of the Han river (and 광진구's lights) stays
# with 강북 box A in fleet.json, the south goes to 강남 box B. Ids stay unique across the boxes.
python3 - "$state/fleet.json" "$state/box-b/fleet.json" "$gateway_id_b" <<'PY'
import json, sys
fleet = json.load(open(sys.argv[1]))
south = lambda d: int(d["districtCode"]) >= 11470 and d["profile"] != "streetlight"
box_b = {**fleet, "gatewayId": sys.argv[3], "devices": [d for d in fleet["devices"] if south(d)]}
fleet["devices"] = [d for d in fleet["devices"] if not south(d)]
json.dump(fleet, open(sys.argv[1], "w"), ensure_ascii=False, indent=2)
json.dump(box_b, open(sys.argv[2], "w"), ensure_ascii=False, indent=2)
PY
"${sim[@]}" broker-auth --fleet "$state/fleet.json" --service "gateway:$gateway_password" --out-dir "$state/broker" \
  --listeners-port "$mqtt_port" >/dev/null
"${sim[@]}" broker-auth --fleet "$state/box-b/fleet.json" --service "gateway:$gateway_password_b" --out-dir "$state/box-b/broker" \
  --listeners-port "$mqtt_port_b" >/dev/null
# Every account lives in Mosquitto's dynamic-security plugin, as on a gateway box: the services and the
# seeded fleet from anshimi-sim's command batch, new devices from the gateway when an installer claims them.
for box in "$state" "$state/box-b"; do
  mosquitto_ctrl dynsec init "$box/broker/dynamic-security.json" anshimi-provisioner "$provisioner_password" >/dev/null
  (umask 077; printf '%s\n' "$provisioner_password" > "$box/broker/dynsec-admin.secret")
done
dynsec_plugin=$(ls /usr/lib/*/mosquitto_dynamic_security.so 2>/dev/null | head -n 1)
[ -n "$dynsec_plugin" ] || { echo "mosquitto_dynamic_security.so not found (package mosquitto)" >&2; exit 1; }
# The factory: a key pair in the new bell's flash, its public half and a new claim code on the label.
new_device_key=$("${sim[@]}" factory --device-id "$new_device" --state "$state/new-device")
new_device_label=$("${installer[@]}" label "$new_device" --key "$new_device_key" --svg "$state/new-device-label.svg")
claim_code=$(sed -n 's/^등록 코드 //p' <<<"$new_device_label")
label_qr=$(sed -n 's/^QR //p' <<<"$new_device_label")

# Each box's broker: its own ports, config and data, as on a gateway box.
box_broker_conf() { # box-directory
  cat > "$1/broker/mosquitto.conf" <<CONF
set_tcp_nodelay true
# The box's listeners (anshimi-sim broker-auth --listeners-port): a login's session bears its account's name, whatever
# client id it sends; anonymous clients are factory-fresh devices on the next port, reaching only the provisioning topics.
$(cat "$1/broker/listeners.conf")
plugin $dynsec_plugin
plugin_opt_config_file $1/broker/dynamic-security.json
persistence true
persistence_location $1/broker/
autosave_interval 1
log_dest file $1/broker/mosquitto.log
log_type error
log_type warning
log_type notice
# Stay the user who started the demo: as root, mosquitto would switch to a user that cannot read .demo/.
user $(id -un)
CONF
}
box_broker_conf "$state"
box_broker_conf "$state/box-b"

echo "▶ 클라우드 인증서 / cloud certificates: site CA, endpoint, cloud bridge, one per box"
sites="$state/cloud/sites"
if [ "$ha" = 1 ]; then
  # shellcheck source=demo-ha.sh
  . scripts/demo-ha.sh
  ha_prepare
else
export CloudBridge__DataDirectory="$state/cloud"
"${cloud_bridge[@]}" endpoint init --host 127.0.0.1 --host localhost >/dev/null
"${cloud_bridge[@]}" gateways issue "$gateway_id" --out "$state/gateway-cloud" >/dev/null
"${cloud_bridge[@]}" gateways issue "$gateway_id_b" --out "$state/box-b/gateway-cloud" >/dev/null
unset CloudBridge__DataDirectory
# The endpoint's configuration and ACL come from the cloud bridge: the gateway certificate listener's one definition.
CloudBridge__DataDirectory="$state/cloud" "${cloud_bridge[@]}" endpoint config --port "$cloud_mqtt_port" --bind 127.0.0.1 \
  --acl "$state/endpoint/endpoint.acl" --data "$state/endpoint/data" --log "$state/logs/cloud-endpoint.log" --user "$(id -un)" \
  > "$state/endpoint/mosquitto.conf"
fi

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "■ 종료 중 / stopping…"
  for (( i=${#pids[@]}-1; i>=0; i-- )); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  [ "$ha" = 1 ] && ha_stop
  wait 2>/dev/null || true
  echo "■ 종료됨 / stopped. Logs: $state/logs"
  exit "$1"
}
trap 'stop 0' INT TERM
trap 'stop $?' EXIT

wait_port() { for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; echo "port $1 did not open; see $state/logs" >&2; return 1; }

if [ "$ha" = 1 ]; then
  ha_start_cloud
  cloud_url=$(ha_cloud_url)
else
  mosquitto -c "$state/endpoint/mosquitto.conf" & pids+=($!)
  endpoint_pid=$!
  cloud_url="mqtts://127.0.0.1:$cloud_mqtt_port"
fi
mosquitto -c "$state/broker/mosquitto.conf" & pids+=($!)
mosquitto -c "$state/box-b/broker/mosquitto.conf" & pids+=($!)
wait_port "$cloud_mqtt_port"
wait_port "$mqtt_port"
wait_port "$mqtt_port_b"
/usr/bin/python3 scripts/dynsec-apply.py 127.0.0.1 "$mqtt_port" anshimi-provisioner "$state/broker/dynsec-admin.secret" \
  "$state/broker/dynsec-commands.json" >"$state/logs/dynsec.log"
/usr/bin/python3 scripts/dynsec-apply.py 127.0.0.1 "$mqtt_port_b" anshimi-provisioner "$state/box-b/broker/dynsec-admin.secret" \
  "$state/box-b/broker/dynsec-commands.json" >"$state/logs/dynsec-b.log"

if [ "$ha" = 1 ]; then
  ha_start_bridges
else
CloudBridge__DataDirectory="$state/cloud" CloudBridge__DistrictsGeoJson="$districts" \
Mqtt__Host=127.0.0.1 Mqtt__Port="$cloud_mqtt_port" Mqtt__TlsCaFile="$sites/ca.crt" \
Mqtt__TlsClientCertificateFile="$sites/anshimi-cloud-bridge.crt" Mqtt__TlsClientKeyFile="$sites/anshimi-cloud-bridge.key" \
Urls="http://127.0.0.1:$console_port" CloudBridge__AdminUrl="http://127.0.0.1:$bridge_admin_port" Operators__CookieSecurePolicy=SameAsRequest \
Operators__Seed__0__UserName=central Operators__Seed__0__Password="$central_password" Operators__Seed__0__Central=true \
Operators__Seed__1__UserName=gangnam Operators__Seed__1__Password="$gangnam_password" Operators__Seed__1__Districts__0=11680 \
Escorts__LightsFile="$state/cloud-lights.csv" Escorts__EscortKey="$escort_key" \
AppApi__Clients__0__Name=demo-app AppApi__Clients__0__KeySha256="$(printf %s "$app_key" | sha256sum | cut -d' ' -f1)" \
  dotnet "$(bin cloud-bridge/Anshimi.CloudBridge Anshimi.CloudBridge)" >"$state/logs/cloud-bridge.log" 2>&1 & pids+=($!)
fi

# One gateway per box: devices on the box's broker, everything upstream over its TLS link to the cloud endpoint.
start_gateway() { # id box-directory mqtt-port password http-port airspace-port log
  Gateway__Id="$1" Gateway__DataDirectory="$2/gateway" Gateway__RegistrySeedFile="$2/fleet.json" \
  Mqtt__Host=127.0.0.1 Mqtt__Port="$3" Mqtt__Username=gateway Mqtt__Password="$4" \
  Cloud__Url="$cloud_url" Cloud__CaFile="$2/gateway-cloud/ca.crt" \
  Cloud__CertificateFile="$2/gateway-cloud/gateway.crt" Cloud__KeyFile="$2/gateway-cloud/gateway.key" \
  Urls="http://127.0.0.1:$5" \
  Provisioning__Enabled=true Provisioning__DynamicSecurityUsername=anshimi-provisioner \
  Provisioning__DynamicSecurityPasswordFile="$2/broker/dynsec-admin.secret" Provisioning__DistrictsFile="$districts" \
  Provisioning__NeighbourhoodsFile="$(dirname "$districts")/seoul-admin-dongs-2021.geojson" \
  Gateway__Ble__Transport=Airspace Gateway__Ble__AirspaceEndpoint="127.0.0.1:$6" Gateway__Ble__HostAirspaceHub=true \
  Gateway__Outputs__Driver=simulated Power__Sensor=simulated \
    dotnet "$(bin gateway/Anshimi.Gateway Anshimi.Gateway)" >"$state/logs/$7" 2>&1 & pids+=($!)
}
start_gateway "$gateway_id" "$state" "$mqtt_port" "$gateway_password" "$gateway_port" "$airspace_port" gateway.log
start_gateway "$gateway_id_b" "$state/box-b" "$mqtt_port_b" "$gateway_password_b" "$gateway_port_b" "$airspace_port_b" gateway-b.log

wait_port "$console_port"
wait_port "$gateway_port"
wait_port "$gateway_port_b"

"${sim[@]}" run --fleet "$state/fleet.json" --broker "127.0.0.1:$mqtt_port" --state "$state/sim" --control "127.0.0.1:$sim_port" \
  --airspace "127.0.0.1:$airspace_port" --escort-key "$escort_key" "${factory[@]}" >"$state/logs/sim.log" 2>&1 & pids+=($!)
wait_port "$sim_port"
"${sim[@]}" run --fleet "$state/box-b/fleet.json" --broker "127.0.0.1:$mqtt_port_b" --state "$state/box-b/sim" --control "127.0.0.1:$sim_port_b" \
  --airspace "127.0.0.1:$airspace_port_b" --escort-key "$escort_key" "${factory[@]}" >"$state/logs/sim-b.log" 2>&1 & pids+=($!)
wait_port "$sim_port_b"
"${sim[@]}" unclaimed --device-id "$new_device" --claim-code "$claim_code" --broker "127.0.0.1:$mqtt_port" --state "$state/new-device" \
  --control "127.0.0.1:$new_device_port" >"$state/logs/new-device.log" 2>&1 & pids+=($!)

pick() { python3 -c "import json,sys; d=[x for x in json.load(open(sys.argv[1]))['devices'] if x['profile']==sys.argv[2]]; print($2)" "$state/fleet.json" "$1"; }
first=$(pick home "d[0]['deviceId']")
first_district=$(pick home "d[0]['districtCode']")
first_b=$(python3 -c "import json,sys; print([x for x in json.load(open(sys.argv[1]))['devices'] if x['profile']=='home'][0]['deviceId'])" "$state/box-b/fleet.json")
# Which box each device belongs to, with its district (the lights are listed once, by count).
box_devices() { # fleet
  python3 - "$1" "$districts" <<'PY'
import json, sys
names = {f["properties"]["SIG_CD"]: f["properties"]["SIG_KOR_NM"] for f in json.load(open(sys.argv[2]))["features"]}
devices = json.load(open(sys.argv[1]))["devices"]
bells = [d for d in devices if d["profile"] != "streetlight"]
for i in range(0, len(bells), 3):
    print("     " + "   ".join(f'{d["deviceId"]} {d["profile"]:<8} {names.get(d["districtCode"], d["districtCode"])}' for d in bells[i:i + 3]))
lights = sum(1 for d in devices if d["profile"] == "streetlight")
if lights:
    print(f"     + {lights} 스마트보안등 streetlights (sim: /lights)")
PY
}
doorbell=$(pick doorbell "d[0]['deviceId']")
street_start=$(pick streetlight "f\"{d[0]['site']['lat']},{d[0]['site']['lon']}\"")
street_end=$(pick streetlight "f\"{d[-1]['site']['lat']},{d[-1]['site']['lon']}\"")
walk_from=$(pick streetlight "d[0]['site']['address'].split(' (')[0]")
walk_to=$(pick streetlight "d[-1]['site']['address'].split(' (')[0]")
street_mid=$(pick streetlight "f\"{d[len(d)//2]['site']['lat']},{d[len(d)//2]['site']['lon']}\"")
sim_cmd="dotnet $(bin firmware/Anshimi.DeviceSim anshimi-sim)"
revoke_help="  상자 B 인증서 폐기 Revoke box B's certificate: see the high-availability part below"
[ "$ha" = 1 ] || revoke_help=$(cat <<REVOKE
  상자 B 인증서 폐기 Revoke box B's certificate (the endpoint refuses it from its next connection on; cut the link, e.g. stop
  the endpoint, and box B's LED blinks and /healthz says "unreachable" after 60 s):
    CloudBridge__DataDirectory=$state/cloud Sites__ReloadCommand="kill -HUP $endpoint_pid" ${cloud_bridge[*]} gateways revoke $gateway_id_b
REVOKE
)
cat <<INFO

✅ 안심이 IoT 데모 실행 중 / Anshimi IoT demo is running

  관제 콘솔 Control-center console : http://127.0.0.1:$console_port/
    총괄관제센터 central staff : central / $central_password
    강남구 관제요원 Gangnam-gu operator : gangnam / $gangnam_password
  브리지 관리 Bridge admin (loopback) : http://127.0.0.1:$bridge_admin_port/metrics   (/api/upstreams, /openapi/v1.json)
  클라우드 MQTT 엔드포인트 Cloud endpoint : mqtts://127.0.0.1:$cloud_mqtt_port (TLS, a certificate per box; CA and CRL in $sites)

  상자 A 강북 Box A $gateway_id — broker 127.0.0.1:$mqtt_port (new devices $((mqtt_port + 1))), health http://127.0.0.1:$gateway_port/healthz, devices --control 127.0.0.1:$sim_port
$(box_devices "$state/fleet.json")
  상자 B 강남 Box B $gateway_id_b — broker 127.0.0.1:$mqtt_port_b (new devices $((mqtt_port_b + 1))), health http://127.0.0.1:$gateway_port_b/healthz, devices --control 127.0.0.1:$sim_port_b
$(box_devices "$state/box-b/fleet.json")
  (각 장치는 자기 상자의 --control 로 조작합니다 / drive each device through its own box's --control)

  비상벨 누르기 Press a bell (another terminal) — box A, then box B:
    $sim_cmd press $first --control 127.0.0.1:$sim_port
    $sim_cmd press $first_b --control 127.0.0.1:$sim_port_b
$revoke_help
  스마트초인종 배회 Loitering at a smart doorbell (suspicious visitor, with its snapshot):
    $sim_cmd motion $doorbell start --control 127.0.0.1:$sim_port
  귀가모니터링 Walk home through 화양동's alleys, pole to pole (the lights ahead brighten, those behind fade),
  from $walk_from to $walk_to:
    $sim_cmd walk --cloud http://127.0.0.1:$console_port/ --api-key $app_key --from $street_start --to $street_end --along $state/fleet.json
  긴급신고 Emergency report in the alleys (the nearest lights blink, an alarm opens in 광진구):
    $sim_cmd report-emergency --cloud http://127.0.0.1:$console_port/ --api-key $app_key --at $street_mid
  설치기사 작업 Installer journey — a factory-fresh bell $new_device (label: $state/new-device-label.svg):
    export ANSHIMI_GATEWAY_URL=http://127.0.0.1:$gateway_port/ ANSHIMI_ADMIN_TOKEN_FILE=$state/gateway/admin.token
    ${installer[*]} discover
    ${installer[*]} claim $new_device --code $label_qr      (the label's QR content; typed: --code $claim_code --key $new_device_key)
    ${installer[*]} bind $new_device --kind home --address "서울특별시 중구 세종대로 110" --lat 37.5665 --lon 126.9780 --ref R-DEMO01
    ${installer[*]} walk-test $new_device      (then press it — its control API opens once claimed: $sim_cmd press $new_device --control 127.0.0.1:$new_device_port)
  펌웨어 배포 Roll out firmware 1.1.0 to the bells (doorbells: --kind doorbell --board doorbell; streetlights, over the
  gateway's BLE carousel: --kind streetlight --board streetlight --chunk-size 256); the console's 펌웨어 tab and
  "${installer[*]} firmware" show each device's version and update state:
    printf 'anshimi simulated application Anshimi.Bell.Device 1.1.0\nbehaviour: normal\n' > $state/release/Anshimi.Bell.Device.pe
    ${release[*]} pack --key $state/release/city-release.key --version 1.1.0 --minimum 1.0.0 --kind home --kind shop --kind voice --board home-bell --board voice-bell --entry Anshimi.Bell.Device.Program --out $state/release/bell-1.1.0.arel $state/release/Anshimi.Bell.Device.pe
    api=(curl -sS -b $state/central.cookies -c $state/central.cookies -H 'X-Anshimi-Request: 1')
    "\${api[@]}" -H 'Content-Type: application/json' -d '{"userName":"central","password":"$central_password"}' http://127.0.0.1:$console_port/api/session
    "\${api[@]}" -H 'Content-Type: application/octet-stream' --data-binary @$state/release/bell-1.1.0.arel http://127.0.0.1:$console_port/api/firmware/releases
    "\${api[@]}" -H 'Content-Type: application/json' -d '{"releaseId":"<releaseId above>","canary":["$first"],"districtCode":"$first_district"}' http://127.0.0.1:$console_port/api/firmware/rollouts
  장치·보안등 상태 Bells, doorbells and streetlights:
    $sim_cmd status --control 127.0.0.1:$sim_port      (lights: curl http://127.0.0.1:$sim_port/lights)
  모든 장치 목록 All device ids: $state/fleet.json (box A), $state/box-b/fleet.json (box B)

  로그 Logs: $state/logs      종료 Stop: Ctrl-C
INFO
[ "$ha" = 1 ] && ha_info

wait -n "${pids[@]}" || true
echo "a component exited unexpectedly; see $state/logs" >&2
exit 1
