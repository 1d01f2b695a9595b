#!/usr/bin/env python3
"""Independent reference encoder for the Anshimi device frame (protocol/README.md).

Writes frames.json, the shared test vectors. It uses only Python's standard library (hmac, hashlib),
so the vectors do not depend on the C# implementation they check; the provisioning vectors come from
provisioning.py (its own X25519 and HKDF, and AES-GCM from python3-cryptography).
Run: python3 protocol/vectors/generate.py > protocol/vectors/frames.json
"""
import hashlib
import hmac
import json
import struct

import provisioning

KEYS = {
    "device-a": bytes(range(32)).hex(),
    "device-b": bytes((0xA0 + i) & 0xFF for i in range(32)).hex(),
}
TYPES = {"alarm": 1, "heartbeat": 2, "ack": 3, "beacon": 4, "command": 5, "snapshot-chunk": 6, "escort": 7}


def encode(key_hex, ftype, device, counter, code, qualifier, zone, payload, version=1):
    body = struct.pack(">BIIHHB", (version << 4) | TYPES.get(ftype, ftype if isinstance(ftype, int) else 0),
                       device, counter, (qualifier << 12) | code, zone, len(payload)) + payload
    tag = hmac.new(bytes.fromhex(key_hex), body, hashlib.sha256).digest()[:8]
    return body + tag


def valid(name, description, key, ftype, device, counter, code, qualifier, zone, payload=b""):
    return {
        "name": name, "description": description, "key": key,
        "hex": encode(KEYS[key], ftype, device, counter, code, qualifier, zone, payload).hex(),
        "expect": "ok",
        "frame": {"type": ftype, "deviceId": "%08X" % device, "counter": counter, "code": code,
                  "qualifier": qualifier, "zone": zone, "payloadHex": payload.hex()},
    }


def invalid(name, description, key, data, expect, last_counter=None, receiver=None, topic=None):
    v = {"name": name, "description": description, "key": key, "hex": data.hex(), "expect": expect}
    if last_counter is not None:
        v["lastCounter"] = last_counter
    if receiver is not None:
        v["receiver"] = receiver
    if topic is not None:
        v["topic"] = topic
    return v


IMAGE = bytes((i * 7 + 3) & 0xFF for i in range(300))
ESCORT_MINUTE = 1795305600 // 60
panic = encode(KEYS["device-a"], "alarm", 0x0000A001, 7, 120, 1, 1, b"")
vectors = [
    valid("alarm-panic", "home bell long press: 120 panic, new event, zone 1", "device-a", "alarm", 0x0000A001, 7, 120, 1, 1),
    valid("alarm-duress", "voice bell duress keyword: 121, zone 3", "device-a", "alarm", 0x0000A001, 8, 121, 1, 3),
    valid("alarm-silent-panic", "shop bell silent mode: 122", "device-b", "alarm", 0x0B0C0D0E, 1, 122, 1, 1),
    valid("alarm-tamper-restore", "tamper switch closed again: 137 restore, zone 2", "device-a", "alarm", 0x0000A001, 9, 137, 3, 2),
    valid("alarm-limits", "largest code, zone and near-largest counter", "device-b", "alarm", 0xFFFFFFFF, 0xFFFFFFFE, 999, 6, 999),
    valid("heartbeat", "supervision heartbeat: status flags 0x01 (a flash write failed), battery 100 %", "device-a", "heartbeat", 0x0000A001, 10, 0, 0, 0, bytes([0x01, 100])),
    valid("heartbeat-mains-rejected-downlinks", "heartbeat: flags 0x02 (downlink frames were rejected since the last heartbeat), battery 0xFF (mains powered)", "device-a", "heartbeat", 0x0000A001, 11, 0, 0, 0, bytes([0x02, 0xFF])),
    valid("ack-received", "gateway stored alarm counter 7 (stage 1)", "device-a", "ack", 0x0000A001, 1, 0, 0, 0, struct.pack(">IB", 7, 1)),
    valid("ack-operator", "operator acknowledged alarm counter 7 (stage 2)", "device-a", "ack", 0x0000A001, 2, 0, 0, 0, struct.pack(">IB", 7, 2)),
    valid("ack-snapshot-stored", "gateway holds the whole snapshot 19, hash checked (stage 4)", "device-a", "ack", 0x0000A001, 3, 0, 0, 0, struct.pack(">IB", 19, 4)),
    valid("beacon-streetlight", "streetlight status beacon: mode 0 schedule, level 40 %", "device-b", "beacon", 0x5100002A, 300, 0, 0, 0, bytes([0x00, 40])),
    valid("beacon-escort-lamp-fault", "streetlight in escort mode (1) with the lamp-fault bit, level 100 %", "device-b", "beacon", 0x5100002A, 301, 0, 0, 0, bytes([0x11, 100])),
    valid("command-escort", "gateway asks light 5100002A for escort mode, held 30 s after the last repeat", "device-b", "command", 0x5100002A, 12, 0, 0, 0, bytes([0x01, 0x00, 0x1E])),
    valid("command-emergency", "gateway asks for emergency blinking until released (hold 0)", "device-b", "command", 0x5100002A, 13, 0, 0, 0, bytes([0x02, 0x00, 0x00])),
    valid("command-release", "gateway releases the light back to its schedule", "device-b", "command", 0x5100002A, 14, 0, 0, 0, bytes([0x00, 0x00, 0x00])),
    valid("snapshot-manifest", "doorbell snapshot 19 (loitering 150, zone 2), chunk 0 of 3: image length and SHA-256", "device-a", "snapshot-chunk", 0x0000A001, 20, 150, 1, 2,
          struct.pack(">IHH", 19, 0, 3) + struct.pack(">I", len(IMAGE)) + hashlib.sha256(IMAGE).digest()),
    valid("snapshot-chunk", "doorbell snapshot 19, chunk 1 of 3: the first 200 image bytes", "device-a", "snapshot-chunk", 0x0000A001, 21, 150, 1, 2,
          struct.pack(">IHH", 19, 1, 3) + IMAGE[:200]),
    valid("escort-advertisement", "app escort advertisement for session 00C0FFEE at 2026-11-22T00:00Z (Unix minute as counter)", "device-b", "escort", 0x00C0FFEE, ESCORT_MINUTE, 0, 0, 0),
    invalid("bad-tag", "alarm-panic with the last tag byte flipped", "device-a", panic[:-1] + bytes([panic[-1] ^ 0x01]), "bad_tag"),
    invalid("tampered-counter", "alarm-panic with the counter raised to 8 but the tag kept", "device-a", panic[:5] + struct.pack(">I", 8) + panic[9:], "bad_tag"),
    invalid("wrong-key", "alarm-panic checked under device-b's key", "device-b", panic, "bad_tag"),
    invalid("truncated", "alarm-panic without its last byte", "device-a", panic[:-1], "too_short"),
    invalid("empty", "no bytes at all", "device-a", b"", "too_short"),
    invalid("unknown-version", "version 2 in the high nibble", "device-a", encode(KEYS["device-a"], "alarm", 0x0000A001, 7, 120, 1, 1, b"", version=2), "unknown_version"),
    invalid("unknown-type", "frame type 9", "device-a", encode(KEYS["device-a"], 9, 0x0000A001, 7, 120, 1, 1, b""), "unknown_type"),
    invalid("length-mismatch", "payload length byte says 3 but no payload follows", "device-a", panic[:13] + bytes([3]) + panic[14:], "length_mismatch"),
    invalid("code-out-of-range", "event code 1000 does not fit Contact ID", "device-a", encode(KEYS["device-a"], "alarm", 0x0000A001, 7, 1000, 1, 1, b""), "field_out_of_range"),
    invalid("alarm-without-event", "alarm frame with event code 0", "device-a", encode(KEYS["device-a"], "alarm", 0x0000A001, 7, 0, 1, 1, b""), "field_out_of_range"),
    invalid("ack-unknown-stage", "ack with stage 5", "device-a", encode(KEYS["device-a"], "ack", 0x0000A001, 4, 0, 0, 0, struct.pack(">IB", 7, 5)), "field_out_of_range"),
    invalid("beacon-level-over-100", "beacon level 101 %", "device-b", encode(KEYS["device-b"], "beacon", 0x5100002A, 302, 0, 0, 0, bytes([0x00, 101])), "field_out_of_range"),
    invalid("beacon-reserved-bits", "beacon with reserved bit 0x40 set", "device-b", encode(KEYS["device-b"], "beacon", 0x5100002A, 302, 0, 0, 0, bytes([0x40, 10])), "field_out_of_range"),
    invalid("command-unknown-mode", "command mode 3", "device-b", encode(KEYS["device-b"], "command", 0x5100002A, 15, 0, 0, 0, bytes([0x03, 0x00, 0x1E])), "field_out_of_range"),
    invalid("command-escort-without-hold", "escort command with hold 0", "device-b", encode(KEYS["device-b"], "command", 0x5100002A, 15, 0, 0, 0, bytes([0x01, 0x00, 0x00])), "field_out_of_range"),
    invalid("snapshot-index-beyond-count", "chunk 3 of 3", "device-a", encode(KEYS["device-a"], "snapshot-chunk", 0x0000A001, 22, 150, 1, 2, struct.pack(">IHH", 19, 3, 3) + IMAGE[:10]), "field_out_of_range"),
    invalid("snapshot-short-manifest", "chunk 0 whose data is not 36 bytes", "device-a", encode(KEYS["device-a"], "snapshot-chunk", 0x0000A001, 22, 150, 1, 2, struct.pack(">IHH", 19, 0, 3) + IMAGE[:10]), "field_out_of_range"),
    invalid("escort-with-event", "escort advertisement carrying an event code", "device-b", encode(KEYS["device-b"], "escort", 0x00C0FFEE, ESCORT_MINUTE, 120, 1, 0, b""), "field_out_of_range"),
    invalid("alarm-with-payload", "alarm frame carrying one payload byte (an alarm has L = 0)", "device-a", encode(KEYS["device-a"], "alarm", 0x0000A001, 7, 120, 1, 1, b"\x00"), "field_out_of_range"),
    invalid("heartbeat-short-payload", "heartbeat with only the flags byte", "device-a", encode(KEYS["device-a"], "heartbeat", 0x0000A001, 12, 0, 0, 0, bytes([0x00])), "field_out_of_range"),
    invalid("heartbeat-reserved-flags", "heartbeat with reserved flag bit 0x04 set", "device-a", encode(KEYS["device-a"], "heartbeat", 0x0000A001, 12, 0, 0, 0, bytes([0x04, 50])), "field_out_of_range"),
    invalid("heartbeat-battery-over-100", "heartbeat battery 101 (neither 0-100 nor 0xFF)", "device-a", encode(KEYS["device-a"], "heartbeat", 0x0000A001, 12, 0, 0, 0, bytes([0x00, 101])), "field_out_of_range"),
    invalid("heartbeat-with-event", "heartbeat carrying event code 602", "device-a", encode(KEYS["device-a"], "heartbeat", 0x0000A001, 12, 602, 6, 0, bytes([0x00, 50])), "field_out_of_range"),
    invalid("topic-mismatch", "valid alarm-panic of 0000A001 published on 0B0C0D0E's uplink topic", "device-a", panic, "topic_mismatch",
            receiver="gateway", topic="anshimi/v1/d/0B0C0D0E/up"),
    invalid("topic-mismatch-before-direction", "valid ack for 0000A001 on 0B0C0D0E's uplink topic: the topic check comes first", "device-a",
            encode(KEYS["device-a"], "ack", 0x0000A001, 1, 0, 0, 0, struct.pack(">IB", 7, 1)), "topic_mismatch", receiver="gateway", topic="anshimi/v1/d/0B0C0D0E/up"),
    invalid("ack-at-gateway", "valid ack (a downlink) heard by a gateway on the device's own uplink topic", "device-a",
            encode(KEYS["device-a"], "ack", 0x0000A001, 1, 0, 0, 0, struct.pack(">IB", 7, 1)), "wrong_direction", receiver="gateway", topic="anshimi/v1/d/0000A001/up"),
    invalid("escort-at-gateway", "valid escort advertisement heard by a gateway: wrong direction, never unknown_device (its id is a session)", "device-b",
            encode(KEYS["device-b"], "escort", 0x00C0FFEE, ESCORT_MINUTE, 0, 0, 0, b""), "wrong_direction", receiver="gateway"),
    invalid("alarm-at-device", "a bell's own valid alarm-panic heard back by the bell as if it were a downlink", "device-a", panic, "wrong_direction", receiver="device"),
    invalid("beacon-at-light", "a light's own valid beacon heard by a light as if it were a command", "device-b",
            encode(KEYS["device-b"], "beacon", 0x5100002A, 300, 0, 0, 0, bytes([0x00, 40])), "wrong_direction", receiver="light"),
    invalid("unknown-device", "valid alarm-silent-panic of 0B0C0D0E at a gateway that knows only 0000A001", "device-b",
            encode(KEYS["device-b"], "alarm", 0x0B0C0D0E, 1, 122, 1, 1, b""), "unknown_device", receiver="gateway", topic="anshimi/v1/d/0B0C0D0E/up"),
    invalid("replayed-counter", "valid alarm-panic (counter 7), never stored, after counter 1031 was accepted: below the 1024-counter alarm window", "device-a", panic, "replayed", last_counter=7 + 1024),
]
print(json.dumps({"keys": KEYS, "vectors": vectors, "provisioning": provisioning.vectors()}, indent=2, ensure_ascii=False))
