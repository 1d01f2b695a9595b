#!/usr/bin/env python3
"""Independent reference encoder for the Anshimi device frame, versions 1 and 2, and the escort frame (protocol/README.md).

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
    invalid("unknown-version", "version 3 in the high nibble (neither 1 nor 2)", "device-a", encode(KEYS["device-a"], "alarm", 0x0000A001, 7, 120, 1, 1, b"", version=3), "unknown_version"),
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


# Version 2 (protocol/README.md §10): keys by HKDF-SHA256 (RFC 5869), written out here from hmac alone.
def hkdf(ikm, salt, info):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


UP, DOWN = 0, 1
DIRECTION_NAMES = {UP: "uplink", DOWN: "downlink"}
V2_DIRECTION = {"alarm": UP, "heartbeat": UP, "beacon": UP, "snapshot-chunk": UP, "ack": DOWN, "command": DOWN, "rekey": DOWN,
                "escort-key-part": DOWN}
TYPES_V2 = dict(TYPES, rekey=8, **{"escort-key-part": 9})


def v2_keys(key_name, epoch):
    frame_key = bytes.fromhex(KEYS[key_name])
    keys = {}
    for d, name in DIRECTION_NAMES.items():
        keys[("id", d)] = hkdf(frame_key, b"", ("anshimi/v2 %s id" % name).encode())
        keys[("tag", d)] = hkdf(frame_key, bytes([epoch]), ("anshimi/v2 %s tag" % name).encode())
        keys[("enc", d)] = hkdf(frame_key, bytes([epoch]), ("anshimi/v2 %s enc" % name).encode())
    return keys


def keystream(enc_key, header, tag, length):
    out = b""
    block = 0
    while len(out) < length:
        out += hmac.new(enc_key, header + tag + bytes([block]), hashlib.sha256).digest()
        block += 1
    return out[:length]


def seal(key_name, epoch, direction, plaintext, counter):
    """Header (kind, random part, id hash, masked epoch), then plaintext encrypted under the SIV tag, then the tag."""
    k = v2_keys(key_name, epoch)
    random_part = hmac.new(k[("id", direction)], bytes([epoch]) + struct.pack(">I", counter), hashlib.sha256).digest()[:3]
    resolve = hmac.new(k[("id", direction)], random_part, hashlib.sha256).digest()
    header = bytes([0x20 | direction]) + random_part + resolve[:3] + bytes([epoch ^ resolve[3]])
    tag = hmac.new(k[("tag", direction)], header + plaintext, hashlib.sha256).digest()[:8]
    cipher = bytes(a ^ b for a, b in zip(plaintext, keystream(k[("enc", direction)], header, tag, len(plaintext))))
    return header + cipher + tag


def plaintext_v2(ftype, counter, code, qualifier, zone, payload):
    t = TYPES_V2.get(ftype, ftype if isinstance(ftype, int) else 0)
    if V2_DIRECTION.get(ftype, UP) == DOWN:
        return struct.pack(">BI", t, counter) + payload.ljust(5, b"\x00")
    if ftype == "snapshot-chunk":
        return struct.pack(">BIHH", t, counter, (qualifier << 12) | code, zone) + payload
    return struct.pack(">BIHH", t, counter, (qualifier << 12) | code, zone) + payload.ljust(2, b"\x00")


def encode_v2(key_name, ftype, counter, code, qualifier, zone, payload, epoch=0, direction=None):
    d = V2_DIRECTION.get(ftype, UP) if direction is None else direction
    return seal(key_name, epoch, d, plaintext_v2(ftype, counter, code, qualifier, zone, payload), counter)


def advertisement(frame):
    """Version 2 advertisements are non-connectable broadcasts without Flags: one Manufacturer Specific Data structure."""
    return bytes([3 + len(frame), 0xFF, 0xFF, 0xFF]) + frame


def valid_v2(name, description, key, ftype, device, counter, code, qualifier, zone, payload=b"", epoch=0):
    frame = encode_v2(key, ftype, counter, code, qualifier, zone, payload, epoch)
    v = {
        "name": name, "description": description, "key": key, "deviceId": "%08X" % device,
        "hex": frame.hex(), "expect": "ok",
        "frame": {"type": ftype, "epoch": epoch, "counter": counter, "code": code, "qualifier": qualifier, "zone": zone,
                  "payloadHex": payload.hex()},
    }
    if ftype != "snapshot-chunk":
        v["advertisementHex"] = advertisement(frame).hex()
    return v


def invalid_v2(name, description, key, device, data, expect, receiver, topic=None, floor=None):
    v = {"name": name, "description": description, "key": key, "deviceId": "%08X" % device, "hex": data.hex(),
         "expect": expect, "receiver": receiver}
    if topic is not None:
        v["topic"] = topic
    if floor is not None:
        v["floor"] = {"epoch": floor[0], "counter": floor[1]}
    return v


A, B, LIGHT = 0x0000A001, 0x0B0C0D0E, 0x5100002A
heartbeat_v2 = encode_v2("device-a", "heartbeat", 40, 0, 0, 0, bytes([0x00, 87]))
duress_v2 = encode_v2("device-a", "alarm", 41, 121, 1, 3, b"")
ack_v2 = encode_v2("device-a", "ack", 5, 0, 0, 0, struct.pack(">IB", 41, 1))
command_v2 = encode_v2("device-b", "command", 70, 0, 0, 0, bytes([0x01, 0x00, 0x1E]))
v2_vectors = [
    valid_v2("v2-alarm-panic", "home bell long press: 120 panic, zone 1, key epoch 0", "device-a", "alarm", A, 39, 120, 1, 1),
    valid_v2("v2-alarm-duress", "voice bell duress keyword: 121, zone 3 - the same 27 bytes on air as a heartbeat", "device-a", "alarm", A, 41, 121, 1, 3),
    valid_v2("v2-alarm-silent-panic", "shop bell silent mode: 122, zone 1", "device-b", "alarm", B, 2, 122, 1, 1),
    valid_v2("v2-heartbeat", "supervision heartbeat: no flags, battery 87 %", "device-a", "heartbeat", A, 40, 0, 0, 0, bytes([0x00, 87])),
    valid_v2("v2-heartbeat-mains", "heartbeat: downlink frames were rejected (0x02), mains powered (0xFF)", "device-a", "heartbeat", A, 42, 0, 0, 0, bytes([0x02, 0xFF])),
    valid_v2("v2-beacon", "streetlight beacon: escort mode with lamp fault, level 100 %", "device-b", "beacon", LIGHT, 300, 0, 0, 0, bytes([0x11, 100])),
    valid_v2("v2-ack-received", "gateway stored alarm counter 41 (stage 1); downlink counter 5", "device-a", "ack", A, 5, 0, 0, 0, struct.pack(">IB", 41, 1)),
    valid_v2("v2-ack-snapshot-stored", "gateway holds the whole snapshot 43 (stage 4)", "device-a", "ack", A, 6, 0, 0, 0, struct.pack(">IB", 43, 4)),
    valid_v2("v2-command-escort", "escort mode, held 30 s: padded to an ack's length", "device-b", "command", LIGHT, 70, 0, 0, 0, bytes([0x01, 0x00, 0x1E])),
    valid_v2("v2-command-release", "release to the schedule", "device-b", "command", LIGHT, 71, 0, 0, 0, bytes([0x00, 0x00, 0x00])),
    valid_v2("v2-rekey", "gateway moves the bell's uplinks to key epoch 1", "device-a", "rekey", A, 7, 0, 0, 0, bytes([1])),
    valid_v2("v2-alarm-epoch-1", "panic alarm in key epoch 1: counters start again at 1", "device-a", "alarm", A, 1, 120, 1, 1, epoch=1),
    valid_v2("v2-alarm-near-wrap", "tamper alarm at the last counter before a device moves to the next epoch", "device-b", "alarm", B, 0xFFFFFF00, 137, 1, 2, epoch=3),
    valid_v2("v2-snapshot-manifest", "doorbell snapshot 43, chunk 0 of 3 (MQTT only)", "device-a", "snapshot-chunk", A, 44, 150, 1, 2,
             struct.pack(">IHH", 43, 0, 3) + struct.pack(">I", len(IMAGE)) + hashlib.sha256(IMAGE).digest()),
    valid_v2("v2-snapshot-chunk", "doorbell snapshot 43, chunk 2 of 3: the last 100 image bytes", "device-a", "snapshot-chunk", A, 46, 150, 1, 2,
             struct.pack(">IHH", 43, 2, 3) + IMAGE[200:]),
    invalid_v2("v2-empty", "no bytes", "device-a", A, b"", "too_short", "gateway"),
    invalid_v2("v2-unknown-version", "version nibble 3", "device-a", A, bytes([0x30]) + duress_v2[1:], "unknown_version", "gateway"),
    invalid_v2("v2-reserved-kind-bits", "first byte 0x22: a reserved bit beside the direction bit", "device-a", A, bytes([0x22]) + duress_v2[1:], "unknown_type", "gateway"),
    invalid_v2("v2-truncated", "a downlink's 26 bytes minus one", "device-a", A, ack_v2[:-1], "too_short", "device"),
    invalid_v2("v2-uplink-length", "an uplink of 28 bytes (neither 27 nor a snapshot chunk's 34-233)", "device-a", A, duress_v2 + b"\x00", "length_mismatch", "gateway"),
    invalid_v2("v2-downlink-length", "a downlink of 27 bytes", "device-a", A, ack_v2 + b"\x00", "length_mismatch", "device"),
    invalid_v2("v2-uplink-at-device", "the bell's own duress alarm heard back by the bell: the direction bit says uplink", "device-a", A, duress_v2, "wrong_direction", "device"),
    invalid_v2("v2-downlink-at-gateway", "an ack heard by a gateway", "device-a", A, ack_v2, "wrong_direction", "gateway"),
    invalid_v2("v2-uplink-flipped-to-downlink", "the duress alarm re-advertised with its direction bit set: 27 bytes is no downlink's length (and its id would resolve under no downlink key)", "device-a", A,
               bytes([0x21]) + duress_v2[1:], "length_mismatch", "device"),
    invalid_v2("v2-downlink-flipped-to-uplink", "an ack with its direction bit cleared: 26 bytes is no uplink's length", "device-a", A,
               bytes([0x20]) + ack_v2[1:], "length_mismatch", "gateway"),
    invalid_v2("v2-unknown-device", "device-b's silent panic heard over BLE by a gateway that knows only 0000A001 (device-a)", "device-a", A,
               encode_v2("device-b", "alarm", 2, 122, 1, 1, b""), "unknown_device", "gateway"),
    invalid_v2("v2-topic-mismatch", "0B0C0D0E's silent panic published on 0000A001's uplink topic: it must resolve under the topic's device's key", "device-a", A,
               encode_v2("device-b", "alarm", 2, 122, 1, 1, b""), "topic_mismatch", "gateway", topic="anshimi/v1/d/0000A001/up"),
    invalid_v2("v2-bad-tag", "duress alarm with its last tag byte flipped", "device-a", A, duress_v2[:-1] + bytes([duress_v2[-1] ^ 0x01]), "bad_tag", "gateway"),
    invalid_v2("v2-bad-ciphertext", "duress alarm with one ciphertext bit flipped (the code 121 would read 120 or so)", "device-a", A,
               duress_v2[:14] + bytes([duress_v2[14] ^ 0x01]) + duress_v2[15:], "bad_tag", "gateway"),
    invalid_v2("v2-masked-epoch-changed", "duress alarm whose masked epoch byte was changed: keys of another epoch, tag fails", "device-a", A,
               duress_v2[:7] + bytes([duress_v2[7] ^ 0x01]) + duress_v2[8:], "bad_tag", "gateway"),
    invalid_v2("v2-stale-epoch", "a recorded epoch-0 duress alarm after the gateway moved the bell to epoch 1", "device-a", A, duress_v2, "stale_epoch", "gateway", floor=(1, 0)),
    invalid_v2("v2-replayed", "a recorded escort command below the light's floor (counter 80 accepted)", "device-b", LIGHT, command_v2, "replayed", "light", floor=(0, 80)),
    invalid_v2("v2-heartbeat-battery-over-100", "sealed heartbeat with battery 101", "device-a", A,
               encode_v2("device-a", "heartbeat", 43, 0, 0, 0, bytes([0x00, 101])), "field_out_of_range", "gateway"),
    invalid_v2("v2-heartbeat-reserved-flags", "sealed heartbeat with reserved flag 0x04", "device-a", A,
               encode_v2("device-a", "heartbeat", 43, 0, 0, 0, bytes([0x04, 50])), "field_out_of_range", "gateway"),
    invalid_v2("v2-heartbeat-with-event", "sealed heartbeat carrying code 602", "device-a", A,
               encode_v2("device-a", "heartbeat", 43, 602, 6, 0, bytes([0x00, 50])), "field_out_of_range", "gateway"),
    invalid_v2("v2-alarm-padding", "sealed alarm whose two padding bytes are not zero", "device-a", A,
               encode_v2("device-a", "alarm", 43, 120, 1, 1, b"\x00\x01"), "field_out_of_range", "gateway"),
    invalid_v2("v2-alarm-without-event", "sealed alarm with code 0", "device-a", A, encode_v2("device-a", "alarm", 43, 0, 1, 1, b""), "field_out_of_range", "gateway"),
    invalid_v2("v2-command-padding", "sealed command whose padding is not zero", "device-b", LIGHT,
               encode_v2("device-b", "command", 72, 0, 0, 0, bytes([0x01, 0x00, 0x1E, 0x00, 0x07])), "field_out_of_range", "light"),
    invalid_v2("v2-ack-unknown-stage", "sealed ack with stage 5", "device-a", A, encode_v2("device-a", "ack", 8, 0, 0, 0, struct.pack(">IB", 41, 5)), "field_out_of_range", "device"),
    invalid_v2("v2-chunk-in-event-length", "a snapshot chunk type sealed into a 27-byte uplink", "device-a", A,
               seal("device-a", 0, UP, struct.pack(">BIHH", 6, 47, (1 << 12) | 150, 2) + b"\x00\x00", 47), "field_out_of_range", "gateway"),
    invalid_v2("v2-snapshot-short-manifest", "chunk 0 whose data is not 36 bytes", "device-a", A,
               encode_v2("device-a", "snapshot-chunk", 47, 150, 1, 2, struct.pack(">IHH", 43, 0, 3) + IMAGE[:10]), "field_out_of_range", "gateway"),
    invalid_v2("v2-escort-type", "type 7 sealed as an uplink: no device frame carries an escort (the escort frame is its own kind, section 10.1)", "device-a", A,
               seal("device-a", 0, UP, struct.pack(">BIHH", 7, 48, 0, 0) + b"\x00\x00", 48), "unknown_type", "gateway"),
    invalid_v2("v2-ack-sealed-as-uplink", "an ack sealed under the uplink keys: authentic, but a type that travels the other way", "device-a", A,
               seal("device-a", 0, UP, struct.pack(">BIHH", 3, 49, 0, 0) + b"\x00\x00", 49), "wrong_direction", "gateway"),
]
# Escort frames (protocol/README.md §10.1): area keys derived from the cloud's escort master secret per rotation.
ESCORT_MASTER = bytes(range(0x60, 0x80))
ROTATION_MINUTES, CHANGEOVER_MINUTES = 1440, 10
AREA, OTHER_AREA = 11215, 11260          # 광진구, 중랑구
ROTATION = 20430                          # the day from 2025-12-08 00:00 UTC
HANDLE = 0x00C0FFEE                       # the app API's session handle


def area_key(area, rotation):
    return hkdf(ESCORT_MASTER, struct.pack(">HI", area, rotation), b"anshimi/v2 escort area key")


def changeover_end(rotation):
    return rotation * ROTATION_MINUTES + CHANGEOVER_MINUTES


def key_record(area, rotation):
    return struct.pack(">HBI", area, rotation & 0xFF, changeover_end(rotation)) + area_key(area, rotation)


def escort_keys(key):
    return {name: hkdf(key, b"", ("anshimi/v2 escort %s" % name).encode()) for name in ("tag", "enc", "session")}


def air_id(key, handle):
    return struct.unpack(">I", hmac.new(escort_keys(key)["session"], struct.pack(">I", handle), hashlib.sha256).digest()[:4])[0]


def seal_escort(area, epoch, key, minute, air):
    k = escort_keys(key)
    header = bytes([0x23]) + struct.pack(">HB", area, epoch)
    plain = struct.pack(">II", minute, air)
    tag = hmac.new(k["tag"], header + plain, hashlib.sha256).digest()[:8]
    stream = hmac.new(k["enc"], header + tag + b"\x00", hashlib.sha256).digest()
    return header + bytes(a ^ b for a, b in zip(plain, stream)) + tag


def escort_frame(rotation, minute, area=AREA, handle=HANDLE):
    key = area_key(area, rotation)
    return seal_escort(area, rotation & 0xFF, key, minute, air_id(key, handle))


def phone_advertisement(frame):
    """A phone's advertisement keeps Flags (protocol §7): 02 01 06, then the Manufacturer Specific Data."""
    return bytes([0x02, 0x01, 0x06, 3 + len(frame), 0xFF, 0xFF, 0xFF]) + frame


NOW = ROTATION * ROTATION_MINUTES + 100   # the light's clock, well after the changeover
IN_CHANGEOVER = ROTATION * ROTATION_MINUTES + 5


def escort_vector(name, description, data, expect, light_minute=NOW, escort_floor=0, receiver="light", valid=None):
    v = {"name": name, "description": description, "hex": data.hex(), "expect": expect, "receiver": receiver,
         "lightMinute": light_minute, "escortFloor": escort_floor}
    if valid is not None:
        rotation, minute, area = valid
        v["advertisementHex"] = phone_advertisement(data).hex()
        v["frame"] = {"area": area, "rotation": rotation, "epoch": rotation & 0xFF, "minute": minute, "sessionHandle": HANDLE,
                      "airId": air_id(area_key(area, rotation), HANDLE)}
    return v


good = escort_frame(ROTATION, NOW)
other_area = escort_frame(ROTATION, NOW, area=OTHER_AREA)
escort_vectors = [
    escort_vector("escort-current", "a walker in 광진구: this minute, sealed under the district's key of the current rotation", good, "ok",
                  valid=(ROTATION, NOW, AREA)),
    escort_vector("escort-previous-in-changeover", "five minutes into the rotation the cloud still signs with the previous key: taken",
                  escort_frame(ROTATION - 1, IN_CHANGEOVER), "ok", light_minute=IN_CHANGEOVER, valid=(ROTATION - 1, IN_CHANGEOVER, AREA)),
    escort_vector("escort-previous-after-changeover", "the previous rotation's key at the changeover's end: refused whatever the minute",
                  escort_frame(ROTATION - 1, changeover_end(ROTATION)), "stale_epoch", light_minute=changeover_end(ROTATION)),
    escort_vector("escort-epoch-not-held", "a frame of two rotations ago: the light holds no key of that epoch",
                  escort_frame(ROTATION - 2, NOW), "stale_epoch"),
    escort_vector("escort-other-area", "a 중랑구 walker's frame relayed to a light in 광진구 within its minute", other_area, "wrong_area"),
    escort_vector("escort-area-rewritten", "the 중랑구 frame with its clear area changed to 광진구: the area is under the tag",
                  other_area[:1] + struct.pack(">H", AREA) + other_area[3:], "bad_tag"),
    escort_vector("escort-stolen-key", "a key read out of a 중랑구 light, used to seal a frame that claims 광진구",
                  seal_escort(AREA, ROTATION & 0xFF, area_key(OTHER_AREA, ROTATION), NOW, 1), "bad_tag"),
    escort_vector("escort-epoch-rewritten", "the current frame with its clear epoch changed to the previous one: another key, the tag fails",
                  good[:3] + bytes([(ROTATION - 1) & 0xFF]) + good[4:], "bad_tag", light_minute=IN_CHANGEOVER),
    escort_vector("escort-bad-tag", "the current frame with its last tag byte flipped", good[:-1] + bytes([good[-1] ^ 0x01]), "bad_tag"),
    escort_vector("escort-stale-minute", "a recording from three minutes ago (the light takes its minute +-2)",
                  escort_frame(ROTATION, NOW - 3), "stale"),
    escort_vector("escort-below-floor", "a minute at or below the escort floor flash held at power-up", good, "replayed", escort_floor=NOW),
    escort_vector("escort-too-short", "19 bytes", good[:-1], "too_short"),
    escort_vector("escort-too-long", "21 bytes", good + b"\x00", "length_mismatch"),
    escort_vector("escort-area-zero", "area 0 is no area", bytes([0x23, 0, 0]) + good[3:], "field_out_of_range"),
    escort_vector("escort-at-gateway", "a gateway reads the escort kind as no device frame of version 2 (bits 1-3 of byte 0)", good,
                  "unknown_type", receiver="gateway"),
]


def key_part(record, index):
    """Type 9, escort key part (section 10.1): epoch (1), part index 0-12 (1), the record's bytes [3 index, 3 index + 3)."""
    return bytes([record[2], index]) + record[3 * index:3 * index + 3]


RECORD = key_record(AREA, ROTATION)
key_part_v2 = encode_v2("device-b", "escort-key-part", 90, 0, 0, 0, key_part(RECORD, 0))
v2_vectors += [
    valid_v2("v2-escort-key-part-first", "part 0 of 13 of the 광진구 key record of the rotation, for light 5100002A", "device-b", "escort-key-part",
             LIGHT, 90, 0, 0, 0, key_part(RECORD, 0)),
    valid_v2("v2-escort-key-part-last", "part 12 of 13: the last 3 bytes of the record's key", "device-b", "escort-key-part",
             LIGHT, 102, 0, 0, 0, key_part(RECORD, 12)),
    valid_v2("v2-beacon-escort-key", "streetlight beacon on its schedule reporting the escort key epoch it holds (zone 0x100 + epoch)", "device-b",
             "beacon", LIGHT, 301, 0, 0, 0x100 | (ROTATION & 0xFF), bytes([0x00, 30])),
    invalid_v2("v2-escort-key-part-index", "a sealed escort key part with index 13", "device-b", LIGHT,
               encode_v2("device-b", "escort-key-part", 91, 0, 0, 0, bytes([RECORD[2], 13]) + RECORD[:3]), "field_out_of_range", "light"),
    invalid_v2("v2-escort-key-part-replayed", "a recorded escort key part below the light's floor (counter 95 accepted)", "device-b", LIGHT,
               key_part_v2, "replayed", "light", floor=(0, 95)),
    invalid_v2("v2-escort-key-part-bad-tag", "an escort key part with its last tag byte flipped", "device-b", LIGHT,
               key_part_v2[:-1] + bytes([key_part_v2[-1] ^ 0x01]), "bad_tag", "light"),
    invalid_v2("v2-escort-key-part-at-gateway", "an escort key part heard by a gateway", "device-b", LIGHT, key_part_v2, "wrong_direction", "gateway"),
]

escort = {
    "master": ESCORT_MASTER.hex(), "rotationPeriodMinutes": ROTATION_MINUTES, "changeoverMinutes": CHANGEOVER_MINUTES,
    "light": {"area": AREA, "current": ROTATION, "previous": ROTATION - 1},
    "records": [{"area": a, "rotation": r, "keyHex": area_key(a, r).hex(), "recordHex": key_record(a, r).hex()}
                for a, r in ((AREA, ROTATION - 1), (AREA, ROTATION), (OTHER_AREA, ROTATION))],
    "vectors": escort_vectors,
}

print(json.dumps({"keys": KEYS, "vectors": vectors, "v2": v2_vectors, "escort": escort, "provisioning": provisioning.vectors()}, indent=2, ensure_ascii=False))
