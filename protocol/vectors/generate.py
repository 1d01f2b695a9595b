#!/usr/bin/env python3
"""Independent reference encoder for the Anshimi device frame (protocol/README.md).

Writes frames.json, the shared test vectors. It uses only Python's standard library (hmac, hashlib),
so the vectors do not depend on the C# implementation they check.
Run: python3 protocol/vectors/generate.py > protocol/vectors/frames.json
"""
import hashlib
import hmac
import json
import struct

KEYS = {
    "device-a": bytes(range(32)).hex(),
    "device-b": bytes((0xA0 + i) & 0xFF for i in range(32)).hex(),
}
TYPES = {"alarm": 1, "heartbeat": 2, "ack": 3, "beacon": 4, "command": 5}


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


def invalid(name, description, key, data, expect, last_counter=None):
    v = {"name": name, "description": description, "key": key, "hex": data.hex(), "expect": expect}
    if last_counter is not None:
        v["lastCounter"] = last_counter
    return v


panic = encode(KEYS["device-a"], "alarm", 0x0000A001, 7, 120, 1, 1, b"")
vectors = [
    valid("alarm-panic", "home bell long press: 120 panic, new event, zone 1", "device-a", "alarm", 0x0000A001, 7, 120, 1, 1),
    valid("alarm-duress", "voice bell duress keyword: 121, zone 3", "device-a", "alarm", 0x0000A001, 8, 121, 1, 3),
    valid("alarm-silent-panic", "shop bell silent mode: 122", "device-b", "alarm", 0x0B0C0D0E, 1, 122, 1, 1),
    valid("alarm-tamper-restore", "tamper switch closed again: 137 restore, zone 2", "device-a", "alarm", 0x0000A001, 9, 137, 3, 2),
    valid("alarm-limits", "largest code, zone and near-largest counter", "device-b", "alarm", 0xFFFFFFFF, 0xFFFFFFFE, 999, 6, 999),
    valid("heartbeat", "supervision heartbeat: status flags 0x01 (mains present), battery 100 %", "device-a", "heartbeat", 0x0000A001, 10, 0, 0, 0, bytes([0x01, 100])),
    valid("ack-received", "gateway stored alarm counter 7 (stage 1)", "device-a", "ack", 0x0000A001, 1, 0, 0, 0, struct.pack(">IB", 7, 1)),
    valid("ack-operator", "operator acknowledged alarm counter 7 (stage 2)", "device-a", "ack", 0x0000A001, 2, 0, 0, 0, struct.pack(">IB", 7, 2)),
    valid("beacon-streetlight", "streetlight status beacon: mode 0 schedule, level 0x80", "device-b", "beacon", 0x5100002A, 300, 0, 0, 0, bytes([0x00, 0x80])),
    valid("command-escort", "gateway command frame with a 3-byte payload", "device-b", "command", 0x00000000, 12, 0, 0, 0, bytes([0x02, 0xFF, 0x1E])),
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
    invalid("replayed-counter", "valid alarm-panic (counter 7), never stored, after counter 1031 was accepted: below the 1024-counter alarm window", "device-a", panic, "replayed", last_counter=7 + 1024),
]
print(json.dumps({"keys": KEYS, "vectors": vectors}, indent=2, ensure_ascii=False))
