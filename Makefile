# Anshimi IoT — the two set-up commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIGURATION ?= Debug
APT_PACKAGES := mosquitto mosquitto-clients python3 python3-paho-mqtt python3-cryptography chromium fonts-nanum sqlite3 procps libgpiod2 systemd rabbitmq-server nats-server postgresql

.PHONY: all deps restore build test test-fast demo bench bench-heartbeats install-gateway bench-alloc fuzz clean

all: build

## deps: install the Debian packages the system and its tests use (idempotent; root or sudo)
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	  case " $$missing " in *" rabbitmq-server "*|*" nats-server "*) \
	    $$SUDO systemctl disable --now rabbitmq-server nats-server 2>/dev/null || true ;; esac; \
	fi
	@# Broker clusters (tests, demos) run their own nodes on their own ports and data, so the system services above stay off.
	@# The distribution starts a system broker on 1883; ours run on their own ports, so leave it be.

restore:
	$(DOTNET) restore Anshimi.Iot.sln

build: deps restore
	$(DOTNET) build Anshimi.Iot.sln --no-restore -c $(CONFIGURATION)

## test: the whole suite (unit, integration on real Mosquitto, end-to-end, fault, browser)
test: build
	./scripts/run-tests.sh $(CONFIGURATION)

## test-fast: everything except end-to-end, fault, browser and high-availability tests
test-fast: build
	./scripts/run-tests.sh $(CONFIGURATION) "Category!=EndToEnd&Category!=Fault&Category!=Browser&Category!=HighAvailability"

## demo: broker, gateway, cloud bridge and 25 simulated bells on this machine
demo: build
	./scripts/demo.sh $(CONFIGURATION)

## bench: the alarm-latency, escort-planner and Seoul-data benchmarks (see bench/README.md)
bench: build
	$(DOTNET) run --project bench/Anshimi.Bench -c Release -- latency
	$(DOTNET) run --project bench/Anshimi.EscortBench -c Release
	$(DOTNET) run --project bench/Anshimi.SeoulDataBench -c Release

## bench-heartbeats: 10,000 devices' heartbeats on 10,000 MQTT sessions through one gateway (see bench/README.md)
bench-heartbeats: build
	$(DOTNET) run --project bench/Anshimi.Bench -c Release -- heartbeats

# Installs the gateway as a systemd service on this machine (a Raspberry Pi OS / Debian gateway); with
# CLOUD_URL=mqtts://host[:port] CLOUD_CREDENTIALS=dir (from the cloud's `gateways issue`) it links the box to the cloud.
install-gateway: deps restore
	bash scripts/install-gateway.sh $(if $(CLOUD_URL),--cloud-url $(CLOUD_URL) --cloud-credentials $(CLOUD_CREDENTIALS))

## bench-alloc: allocations per encoded/decoded frame and per device tick (see bench/README.md)
bench-alloc:
	$(DOTNET) run --project bench/Anshimi.Bench.Allocations -c Release

## fuzz: afl-fuzz (SharpFuzz) over every decoder of outside input, FUZZ_SECONDS per target (default 60),
## FUZZ_TARGETS to choose (see fuzz/README.md)
fuzz: APT_PACKAGES += afl++
fuzz: deps
	./scripts/fuzz.sh

clean:
	$(DOTNET) clean Anshimi.Iot.sln
	rm -rf .demo artifacts
