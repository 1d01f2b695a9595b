#!/usr/bin/env bash
# Installs the gateway as a systemd service on Raspberry Pi OS / Debian:
#   /opt/anshimi/gateway                    the published service
#   /etc/systemd/system/anshimi-gateway.service
#   /etc/anshimi/gateway.json               the one configuration file (kept if present; 0640 root:anshimi)
#   /var/lib/anshimi-gateway                state (made by systemd's StateDirectory)
#   /usr/share/anshimi/seoul-municipalities.geojson   Seoul's districts, for binding sites
#   /usr/share/anshimi/seoul-admin-dongs-2021.geojson Seoul's 행정동, named in the bind answer (with DATA-README.md, the attribution)
#   /etc/mosquitto/conf.d/anshimi.conf      the box's broker on the dynamic-security plugin (kept if present)
#   /var/lib/mosquitto/dynamic-security.json and /etc/anshimi/dynsec-admin.secret   its admin account
#   /etc/anshimi/cloud/{ca.crt,gateway.crt,gateway.key}   the link to the cloud (with --cloud-url)
#   /etc/anshimi/box-ca.pem, /etc/mosquitto/certs/anshimi-box.{pem,key}   the box's CA (for devices using
#                                           TLS) and the broker's certificate it issued (kept if present)
# Then (not with --destdir) restarts mosquitto and gives the gateway its broker account: --prepare-broker.
# Options: --destdir DIR  install into a staging root (packaging, tests): no user, no systemctl
#          --from DIR     install an already published build instead of running dotnet publish
#          --gateway-id ID  the id written into a new configuration file (default: the host name)
#          --cloud-url mqtts://HOST[:PORT] --cloud-credentials DIR   link the box to the cloud's MQTT endpoint with
#                         the credentials the cloud issued for it (`gateways issue ID --out DIR`: ca.crt, gateway.crt,
#                         gateway.key); written into the configuration file, new or kept
#          --device-interface IF  the network devices reach the box on; the broker listens for devices there only (default wlan0)
#          --device-address ADDR  the box's address on that network, named in its TLS certificate (default: the interface's IPv4)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
destdir=""
from=""
gateway_id=$(hostname -s 2>/dev/null || echo gateway)
cloud_url=""
cloud_credentials=""
device_interface=wlan0
device_address=""
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) destdir=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --gateway-id) gateway_id=$2; shift 2 ;;
    --cloud-url) cloud_url=$2; shift 2 ;;
    --cloud-credentials) cloud_credentials=$2; shift 2 ;;
    --device-interface) device_interface=$2; shift 2 ;;
    --device-address) device_address=$2; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

if [ -n "$cloud_url" ] || [ -n "$cloud_credentials" ]; then
  [ -n "$cloud_url" ] && [ -n "$cloud_credentials" ] || { echo "--cloud-url and --cloud-credentials go together" >&2; exit 2; }
  case "$cloud_url" in mqtts://?*) ;; *) echo "클라우드 주소는 mqtts://호스트[:포트] (여러 노드는 쉼표로 구분) / --cloud-url must be mqtts://host[:port] (several nodes separated by commas), got '$cloud_url'" >&2; exit 2 ;; esac
  for f in ca.crt gateway.crt gateway.key; do
    [ -f "$cloud_credentials/$f" ] || { echo "자격 증명 파일 없음 / $cloud_credentials/$f missing (from the cloud: gateways issue ID --out DIR)" >&2; exit 2; }
  done
fi

dotnet_path=$(command -v dotnet || echo /usr/bin/dotnet)
if [ -z "$from" ]; then
  from=$(mktemp -d)
  trap 'rm -rf "$from"' EXIT
  echo "▶ 게이트웨이 빌드 / publishing the gateway"
  dotnet publish gateway/Anshimi.Gateway/Anshimi.Gateway.csproj -c Release -o "$from" --nologo -v quiet
fi
[ -f "$from/Anshimi.Gateway.dll" ] || { echo "no Anshimi.Gateway.dll in $from" >&2; exit 1; }

secret() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }

districts="$repo/../shared/data/seoul-municipalities.geojson"
[ -f "$districts" ] || districts="$repo/data/seoul-municipalities.geojson"
[ -f "$districts" ] || { echo "seoul-municipalities.geojson not found next to the repository" >&2; exit 1; }
dongs="$(dirname "$districts")/seoul-admin-dongs-2021.geojson"
[ -f "$dongs" ] || { echo "seoul-admin-dongs-2021.geojson not found beside $districts" >&2; exit 1; }

echo "▶ 설치 / installing into ${destdir:-/}"
install -d "$destdir/opt/anshimi/gateway" "$destdir/etc/systemd/system" "$destdir/etc/anshimi" "$destdir/usr/share/anshimi" \
  "$destdir/etc/polkit-1/rules.d"
install -m 0644 gateway/deploy/50-anshimi-poweroff.rules "$destdir/etc/polkit-1/rules.d/50-anshimi-poweroff.rules"
install -m 0644 "$districts" "$destdir/usr/share/anshimi/seoul-municipalities.geojson"
install -m 0644 "$dongs" "$destdir/usr/share/anshimi/seoul-admin-dongs-2021.geojson"
install -m 0644 "$(dirname "$districts")/README.md" "$destdir/usr/share/anshimi/DATA-README.md"
cp -a "$from/." "$destdir/opt/anshimi/gateway/"
sed "s|@DOTNET@|$dotnet_path|g" gateway/deploy/anshimi-gateway.service > "$destdir/etc/systemd/system/anshimi-gateway.service"
chmod 0644 "$destdir/etc/systemd/system/anshimi-gateway.service"

config="$destdir/etc/anshimi/gateway.json"
if [ ! -e "$config" ]; then
  # Every installation gets its own broker password; there is no default.
  password=$(secret)
  sed -e "s|@GATEWAY_ID@|$gateway_id|g" -e "s|@MQTT_PASSWORD@|$password|g" gateway/deploy/gateway.json > "$config"
  chmod 0640 "$config"
  echo "  새 설정 파일 / new configuration file: $config (broker user '$gateway_id', password inside)"
else
  echo "  기존 설정 유지 / keeping existing configuration: $config"
fi

cloud_dir="$destdir/etc/anshimi/cloud"
if [ -n "$cloud_url" ]; then
  echo "▶ 클라우드 연결 / cloud link: $cloud_url"
  configured_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Gateway"]["Id"])' "$config")
  # The endpoint takes the certificate's CN as the gateway's identity: it must be this box's id.
  subject=$(openssl x509 -in "$cloud_credentials/gateway.crt" -noout -subject -nameopt RFC2253)
  [ "$subject" = "subject=CN=$configured_id" ] || { echo "인증서의 게이트웨이 ID 불일치 / the certificate is for '${subject#subject=CN=}', this box is '$configured_id'" >&2; exit 2; }
  install -d -m 0750 "$cloud_dir"
  install -m 0644 "$cloud_credentials/ca.crt" "$cloud_credentials/gateway.crt" "$cloud_dir/"
  install -m 0640 "$cloud_credentials/gateway.key" "$cloud_dir/gateway.key"
  python3 - "$config" "$cloud_url" <<'PY'
import json, sys
path, url = sys.argv[1], sys.argv[2]
config = json.load(open(path))
config["Cloud"] = {"Url": url, "CaFile": "/etc/anshimi/cloud/ca.crt",
                   "CertificateFile": "/etc/anshimi/cloud/gateway.crt", "KeyFile": "/etc/anshimi/cloud/gateway.key"}
with open(path, "w") as out:
    json.dump(config, out, ensure_ascii=False, indent=2)
    out.write("\n")
PY
  echo "  클라우드 자격 증명 / cloud credentials: $cloud_dir (CA pinned, key 0640 root:anshimi)"
fi

echo "▶ 브로커 설정 / broker: dynamic-security plugin, devices on $device_interface"
broker_conf="$destdir/etc/mosquitto/conf.d/anshimi.conf"
dynsec_json="$destdir/var/lib/mosquitto/dynamic-security.json"
admin_secret="$destdir/etc/anshimi/dynsec-admin.secret"
box_ca="$destdir/etc/anshimi/box-ca.pem"
box_ca_key="$destdir/etc/anshimi/box-ca.key"
broker_cert="$destdir/etc/mosquitto/certs/anshimi-box.pem"
broker_key="$destdir/etc/mosquitto/certs/anshimi-box.key"
if [ ! -e "$box_ca" ]; then
  # The box's own CA: devices that speak TLS are given box-ca.pem and trust nothing else for this broker.
  [ -n "$device_address" ] || device_address=$(ip -4 -o addr show dev "$device_interface" 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n 1 || true)
  san="DNS:$(hostname -s 2>/dev/null || echo gateway),DNS:localhost${device_address:+,IP:$device_address}"
  install -d "$(dirname "$broker_cert")"
  (umask 077
   openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Anshimi box $gateway_id" \
     -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
     -keyout "$box_ca_key" -out "$box_ca" 2>/dev/null
   openssl req -newkey rsa:2048 -nodes -subj "/CN=$gateway_id" -keyout "$broker_key" -out "$broker_key.csr" 2>/dev/null
   openssl x509 -req -in "$broker_key.csr" -CA "$box_ca" -CAkey "$box_ca_key" -CAcreateserial -days 3650 \
     -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san") -out "$broker_cert" 2>/dev/null
   rm -f "$broker_key.csr" "$destdir/etc/anshimi/box-ca.srl")
  chmod 0644 "$box_ca" "$broker_cert"
  echo "  박스 인증기관 / box CA for devices using TLS: $box_ca (broker certificate for $san)"
fi
if [ -e "$broker_conf" ] && ! grep -q '^clientid_prefixes ' "$broker_conf"; then
  # Written before the client-id rule: replaced, since --prepare-broker below gives the gateway's account a client
  # id that only the new listeners accept.
  mv "$broker_conf" "$broker_conf.old"
  echo "  이전 브로커 설정 교체 / replacing a broker configuration without the client-id rule (kept as $broker_conf.old)"
fi
if [ ! -e "$broker_conf" ]; then
  plugin=$(ls /usr/lib/*/mosquitto_dynamic_security.so 2>/dev/null | head -n 1)
  [ -n "$plugin" ] || { echo "mosquitto_dynamic_security.so not found: apt-get install mosquitto" >&2; exit 1; }
  install -d "$(dirname "$broker_conf")"
  # The listener lines are BrokerListeners.SiteBroker's (protocol/host), line for line; a test compares them.
  cat > "$broker_conf" <<CONF
# Anshimi gateway box (installed by scripts/install-gateway.sh). Devices reach the broker over the box's
# Wi-Fi ($device_interface) only; every account lives in the dynamic-security plugin, each device confined to
# its own topics. A login's session always bears its account's name, whatever client id it sends, so no
# client can take over another's session. Anonymous clients are factory-fresh devices on port 1884: the
# plugin lets them say hello, nothing more, under client ids that must start with anshimi/ (no account
# name has a '/'), at most 32 connected at once.
per_listener_settings false
allow_anonymous true
clientid_prefixes anshimi/
listener 1883 127.0.0.1
use_username_as_clientid true
listener 1883
bind_interface $device_interface
use_username_as_clientid true
listener 8883
bind_interface $device_interface
use_username_as_clientid true
certfile /etc/mosquitto/certs/anshimi-box.pem
keyfile /etc/mosquitto/certs/anshimi-box.key
tls_version tlsv1.2
listener 1884
bind_interface $device_interface
max_connections 32
plugin $plugin
plugin_opt_config_file /var/lib/mosquitto/dynamic-security.json
CONF
  chmod 0644 "$broker_conf"
  echo "  새 브로커 설정 / new broker configuration: $broker_conf"
fi
if [ ! -e "$dynsec_json" ]; then
  install -d "$(dirname "$dynsec_json")"
  admin_password=$(secret)
  mosquitto_ctrl dynsec init "$dynsec_json" anshimi-provisioner "$admin_password" >/dev/null
  (umask 077; printf '%s\n' "$admin_password" > "$admin_secret")
  echo "  동적 보안 관리자 / dynamic-security admin 'anshimi-provisioner': $admin_secret"
fi

if [ -z "$destdir" ]; then
  id anshimi >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin anshimi
  # Raspberry Pi OS gives the GPIO and I2C character devices to these groups.
  for group in gpio i2c; do getent group "$group" >/dev/null && usermod -aG "$group" anshimi; done
  chown root:anshimi "$config" "$admin_secret"
  [ -d "$cloud_dir" ] && chown -R root:anshimi "$cloud_dir"
  chmod 0640 "$admin_secret"
  chown mosquitto:mosquitto "$dynsec_json" 2>/dev/null || true
  chmod 0600 "$dynsec_json"
  chown mosquitto:mosquitto "$broker_key" 2>/dev/null || true
  chmod 0600 "$broker_key" "$box_ca_key"
fi

echo "▶ 설정 검사 / checking the configuration"
# The staged files stand in for the installed paths the configuration names.
cloud_files=()
if python3 -c 'import json,sys; sys.exit(0 if "Cloud" in json.load(open(sys.argv[1])) else 1)' "$config"; then
  cloud_files=(Cloud__CaFile="$cloud_dir/ca.crt" Cloud__CertificateFile="$cloud_dir/gateway.crt" Cloud__KeyFile="$cloud_dir/gateway.key")
fi
env ANSHIMI_GATEWAY_CONFIG="$config" Provisioning__DynamicSecurityPasswordFile="$admin_secret" \
Provisioning__DistrictsFile="$destdir/usr/share/anshimi/seoul-municipalities.geojson" "${cloud_files[@]}" \
Provisioning__NeighbourhoodsFile="$destdir/usr/share/anshimi/seoul-admin-dongs-2021.geojson" \
  "$dotnet_path" "$destdir/opt/anshimi/gateway/Anshimi.Gateway.dll" --check-config

if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
  echo "▶ 브로커 재시작 및 게이트웨이 계정 / restarting the broker and creating the gateway's account"
  systemctl restart mosquitto
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break; sleep 0.2; done
  ANSHIMI_GATEWAY_CONFIG="$config" "$dotnet_path" /opt/anshimi/gateway/Anshimi.Gateway.dll --prepare-broker
  systemctl daemon-reload
  echo "  시작: systemctl enable --now anshimi-gateway / start: systemctl enable --now anshimi-gateway"
fi
