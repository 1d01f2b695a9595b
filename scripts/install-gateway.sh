#!/usr/bin/env bash
# Installs the gateway as a systemd service on Raspberry Pi OS / Debian:
#   /opt/anshimi/gateway                    the published service
#   /etc/systemd/system/anshimi-gateway.service
#   /etc/anshimi/gateway.json               the one configuration file (kept if present; 0640 root:anshimi)
#   /var/lib/anshimi-gateway                state (made by systemd's StateDirectory)
# Options: --destdir DIR  install into a staging root (packaging, tests): no user, no systemctl
#          --from DIR     install an already published build instead of running dotnet publish
#          --gateway-id ID  the id written into a new configuration file (default: the host name)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
destdir=""
from=""
gateway_id=$(hostname -s 2>/dev/null || echo gateway)
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) destdir=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --gateway-id) gateway_id=$2; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

dotnet_path=$(command -v dotnet || echo /usr/bin/dotnet)
if [ -z "$from" ]; then
  from=$(mktemp -d)
  trap 'rm -rf "$from"' EXIT
  echo "▶ 게이트웨이 빌드 / publishing the gateway"
  dotnet publish gateway/Anshimi.Gateway/Anshimi.Gateway.csproj -c Release -o "$from" --nologo -v quiet
fi
[ -f "$from/Anshimi.Gateway.dll" ] || { echo "no Anshimi.Gateway.dll in $from" >&2; exit 1; }

echo "▶ 설치 / installing into ${destdir:-/}"
install -d "$destdir/opt/anshimi/gateway" "$destdir/etc/systemd/system" "$destdir/etc/anshimi"
cp -a "$from/." "$destdir/opt/anshimi/gateway/"
sed "s|@DOTNET@|$dotnet_path|g" gateway/deploy/anshimi-gateway.service > "$destdir/etc/systemd/system/anshimi-gateway.service"
chmod 0644 "$destdir/etc/systemd/system/anshimi-gateway.service"

config="$destdir/etc/anshimi/gateway.json"
if [ ! -e "$config" ]; then
  # Every installation gets its own broker password; there is no default.
  password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  sed -e "s|@GATEWAY_ID@|$gateway_id|g" -e "s|@MQTT_PASSWORD@|$password|g" gateway/deploy/gateway.json > "$config"
  chmod 0640 "$config"
  echo "  새 설정 파일 / new configuration file: $config (broker user '$gateway_id', password inside)"
else
  echo "  기존 설정 유지 / keeping existing configuration: $config"
fi

if [ -z "$destdir" ]; then
  id anshimi >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin anshimi
  chown root:anshimi "$config"
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    echo "  시작: systemctl enable --now anshimi-gateway / start: systemctl enable --now anshimi-gateway"
  fi
fi

echo "▶ 설정 검사 / checking the configuration"
ANSHIMI_GATEWAY_CONFIG="$config" "$dotnet_path" "$destdir/opt/anshimi/gateway/Anshimi.Gateway.dll" --check-config
