"""Independent reference for provisioning version 2 (protocol/README.md §9): hello and credentials vectors.

X25519 is written here from RFC 7748's pseudocode (section 5), HKDF-SHA256 from RFC 5869 with hmac/hashlib,
and AES-256-GCM comes from the `cryptography` package (Debian's python3-cryptography), so nothing here
shares code with the C# implementations the vectors check. Imported by generate.py.
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

P = 2 ** 255 - 19
A24 = 121665


def _decode_scalar(k):
    b = bytearray(k)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return int.from_bytes(b, "little")


def _decode_u(u):
    return int.from_bytes(u, "little") & ((1 << 255) - 1)


def x25519(k, u):
    """RFC 7748 section 5: the Montgomery ladder, as the RFC writes it."""
    k = _decode_scalar(k)
    x1 = _decode_u(u)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        k_t = (k >> t) & 1
        swap ^= k_t
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = k_t
        a = (x2 + z2) % P
        aa = a * a % P
        b = (x2 - z2) % P
        bb = b * b % P
        e = (aa - bb) % P
        c = (x3 + z3) % P
        d = (x3 - z3) % P
        da = d * a % P
        cb = c * b % P
        x3 = (da + cb) ** 2 % P
        z3 = x1 * (da - cb) ** 2 % P
        x2 = aa * bb % P
        z2 = e * (aa + A24 * e) % P
    if swap:
        x2, x3, z2, z3 = x3, x2, z3, z2
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")


def x25519_base(k):
    return x25519(k, (9).to_bytes(32, "little"))


def hkdf(ikm, salt, info, length=32):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


HELLO_INFO = b"anshimi/v2/prov hello"
CREDENTIALS_INFO = b"anshimi/v2/prov credentials"

DEVICE_ID = 0x0000B001
CLAIM_CODE = "ABCDEFGHJKMNPQRS"
DEVICE_PRIVATE = bytes((0x40 + i) & 0xFF for i in range(32))
DEVICE_PUBLIC = x25519_base(DEVICE_PRIVATE)
OTHER_PRIVATE = bytes((0x90 + 3 * i) & 0xFF for i in range(32))
EPHEMERAL_PRIVATE = bytes((0xC0 + 5 * i) & 0xFF for i in range(32))
NONCE = bytes(range(0x10, 0x20))
CIPHER_NONCE = bytes(range(0x60, 0x6C))
FRAME_KEY = bytes((0x11 * i) & 0xFF for i in range(32))
USERNAME = "0000B001"
PASSWORD = "pw-0123456789abcdef0123456789ab"


def hello(device_public, code=CLAIM_CODE, nonce=NONCE, profile="home-panic", firmware="1.2.3"):
    body = struct.pack(">BBI", 2, 1, DEVICE_ID) + nonce + device_public
    body += bytes([len(profile)]) + profile.encode() + bytes([len(firmware)]) + firmware.encode()
    key = hkdf(code.encode(), nonce, HELLO_INFO)
    return body + hmac.new(key, body, hashlib.sha256).digest()[:16]


def hello_v1():
    """The refused version-1 layout: no public key, tag under the version-1 info."""
    body = struct.pack(">BBI", 1, 1, DEVICE_ID) + NONCE + bytes([10]) + b"home-panic" + bytes([5]) + b"1.2.3"
    key = hkdf(CLAIM_CODE.encode(), NONCE, b"anshimi/v1/prov hello")
    return body + hmac.new(key, body, hashlib.sha256).digest()[:16]


def plaintext():
    return FRAME_KEY + bytes([len(USERNAME)]) + USERNAME.encode() + bytes([len(PASSWORD)]) + PASSWORD.encode()


def credentials(ephemeral_public=None, nonce=NONCE):
    eph_public = ephemeral_public if ephemeral_public is not None else x25519_base(EPHEMERAL_PRIVATE)
    shared = x25519(EPHEMERAL_PRIVATE, DEVICE_PUBLIC)
    key = hkdf(shared, nonce + eph_public + DEVICE_PUBLIC, CREDENTIALS_INFO)
    data = plaintext()
    header = struct.pack(">BBI", 2, 2, DEVICE_ID) + nonce + eph_public + CIPHER_NONCE + struct.pack(">H", len(data))
    sealed = AESGCM(key).encrypt(CIPHER_NONCE, data, header)
    return header + sealed, shared, key


def vectors():
    sealed, shared, key = credentials()
    flipped = bytearray(sealed)
    flipped[-1] ^= 0x01
    other_power_up, _, _ = credentials(nonce=bytes(16))
    # u = 0 is a point of small order: the shared secret is all zero whatever the device's key.
    low_order = bytearray(sealed)
    low_order[22:54] = bytes(32)
    return {
        "device": {
            "deviceId": "%08X" % DEVICE_ID, "claimCode": CLAIM_CODE,
            "privateKey": DEVICE_PRIVATE.hex(), "publicKey": DEVICE_PUBLIC.hex(),
            "label": "ANSHIMI:2:%08X:%s:%s" % (DEVICE_ID, CLAIM_CODE, DEVICE_PUBLIC.hex().upper()),
            "nonce": NONCE.hex(),
        },
        "hellos": [
            {"name": "hello-v2", "description": "hello of the label's device: tag under the label's code, the label's key",
             "hex": hello(DEVICE_PUBLIC).hex(), "expect": "ok",
             "fields": {"profile": "home-panic", "firmwareVersion": "1.2.3"}},
            {"name": "hello-v2-other-key", "description": "a valid tag under the label's code (from a photo) but another key: never answered",
             "hex": hello(x25519_base(OTHER_PRIVATE)).hex(), "expect": "key_mismatch"},
            {"name": "hello-v2-wrong-code", "description": "the label's key, but a tag under another claim code",
             "hex": hello(DEVICE_PUBLIC, code="ZZZZZZZZZZZZZZZZ").hex(), "expect": "wrong_claim_code"},
            {"name": "hello-v1", "description": "a version-1 hello (no key): refused by version-2 gateways, counted as version_1",
             "hex": hello_v1().hex(), "expect": "version_1"},
        ],
        "credentials": [
            {"name": "credentials-v2", "description": "credentials sealed to the device's key with a fixed ephemeral key and nonces",
             "ephemeralPrivateKey": EPHEMERAL_PRIVATE.hex(), "cipherNonce": CIPHER_NONCE.hex(),
             "sharedSecret": shared.hex(), "key": key.hex(), "plaintext": plaintext().hex(),
             "frameKey": FRAME_KEY.hex(), "username": USERNAME, "password": PASSWORD,
             "hex": sealed.hex(), "expect": "ok"},
            {"name": "credentials-v2-altered-tag", "description": "the last tag byte flipped", "hex": bytes(flipped).hex(), "expect": "unauthentic"},
            {"name": "credentials-v2-low-order-key", "description": "ephemeral public key u = 0: all-zero shared secret, refused",
             "hex": bytes(low_order).hex(), "expect": "unauthentic"},
            {"name": "credentials-v2-other-power-up", "description": "sealed for another power-up's nonce", "hex": other_power_up.hex(), "expect": "foreign"},
        ],
    }


# RFC 7748 section 5.2 and 6.1: the ladder above must reproduce them before any vector is written.
assert x25519(bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
              bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")).hex() == \
    "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
assert x25519_base(bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")).hex() == \
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
