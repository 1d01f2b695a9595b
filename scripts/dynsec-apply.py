#!/usr/bin/python3
"""Sends one dynamic-security command batch ({"commands": [...]}) to a Mosquitto broker as the plugin's
admin and fails, naming the commands, if the broker refuses any of them.

usage: dynsec-apply.py HOST PORT ADMIN_USER ADMIN_PASSWORD_FILE COMMANDS_JSON

mosquitto_rr 2.0.11 garbles payloads read with -f or -s, and -m is bounded by the argument size,
so the batch goes through paho (Debian python3-paho-mqtt) instead.
"""
import json
import sys
import threading

import paho.mqtt.client as mqtt

CONTROL = "$CONTROL/dynamic-security/v1"


def main():
    host, port, user, password_file, commands_file = sys.argv[1:6]
    payload = open(commands_file, "rb").read()
    json.loads(payload)  # a broken file fails here, with its line, not as a broker error
    answered = threading.Event()
    result = {}

    def on_connect(client, _userdata, _flags, rc):
        if rc != 0:
            result["error"] = "connection refused: " + mqtt.connack_string(rc)
            answered.set()
            return
        client.subscribe(CONTROL + "/response", qos=1)

    def on_subscribe(client, _userdata, _mid, _granted):
        client.publish(CONTROL, payload, qos=1)

    def on_message(_client, _userdata, message):
        result["responses"] = json.loads(message.payload)["responses"]
        answered.set()

    client = mqtt.Client(client_id="anshimi/dynsec-apply")
    client.username_pw_set(user, open(password_file).read().strip())
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect(host, int(port), keepalive=30)
    client.loop_start()
    if not answered.wait(30):
        sys.exit("dynamic security: no answer from %s:%s within 30 s" % (host, port))
    client.loop_stop()
    client.disconnect()
    if "error" in result:
        sys.exit("dynamic security: " + result["error"])
    refused = [r for r in result["responses"] if "error" in r]
    if refused:
        sys.exit("dynamic security refused %d of %d commands, e.g. %s"
                 % (len(refused), len(result["responses"]), json.dumps(refused[:3], ensure_ascii=False)))
    print("dynamic security: %d commands applied" % len(result["responses"]))


if __name__ == "__main__":
    main()
