using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware
{
    /// <summary>
    /// How a device seals its uplinks and opens its downlinks in the frame version it speaks (protocol/README.md §10):
    /// version 2 — resolvable ids, sealed content, no Flags in its advertisements — or version 1 for a device configured
    /// to stay on it. Uplinks are sealed under the device's keys of its uplink key epoch (<see cref="MoveUplinkTo"/>, kept by
    /// <see cref="FrameCounter"/>); downlinks open under the keys of whichever epoch their id names, and the receiver's
    /// <see cref="EpochFloor"/> decides whether that epoch is current. Not thread-safe.
    /// </summary>
    public sealed class FrameSeal
    {
        private readonly FrameCodec _v1;
        private readonly FrameCodecV2 _v2;
        private readonly byte[] _key;
        private readonly uint _deviceId;
        private readonly FrameKeySet? _keys;
        private readonly FrameKeySet? _downlinkKeys;
        private readonly byte[] _plaintext = new byte[FrameCodecV2.MaxPlaintextLength];

        public FrameSeal(IHmacSha256 mac, byte[] key, uint deviceId, byte version)
        {
            _v1 = new FrameCodec(mac);
            _v2 = new FrameCodecV2(mac);
            _key = key;
            _deviceId = deviceId;
            Version = version == FrameCodecV2.Version ? FrameCodecV2.Version : FrameCodec.CurrentVersion;
            if (Version == FrameCodecV2.Version)
            {
                _keys = new FrameKeySet(mac, key, 0);
                _downlinkKeys = new FrameKeySet(mac, key, 0);
            }
        }

        public byte Version { get; }

        /// <summary>The key epoch uplinks are sealed in (version 2; always 0 in version 1).</summary>
        public byte UplinkEpoch
        {
            get { return _keys == null ? (byte)0 : _keys.Epoch; }
        }

        /// <summary>Seals the next uplinks under <paramref name="epoch"/>'s keys: after the device has written that epoch to flash.</summary>
        public void MoveUplinkTo(byte epoch)
        {
            if (_keys != null)
            {
                _keys.MoveTo(epoch);
            }
        }

        /// <summary>Version 1 advertisements carry Flags; version 2 ones are non-connectable broadcasts without (§10).</summary>
        public bool AdvertisesFlags
        {
            get { return Version == FrameCodec.CurrentVersion; }
        }

        /// <summary>Seals <paramref name="frame"/> at buffer[offset..] and returns its length.</summary>
        public int Seal(Frame frame, byte[] buffer, int offset)
        {
            if (_keys == null)
            {
                return _v1.Encode(frame, _key, buffer, offset);
            }

            return _v2.Encode(frame.Type, frame.Counter, frame.EventCode, frame.Qualifier, frame.Zone, frame.Payload, 0, frame.Payload.Length, _keys, buffer, offset);
        }

        /// <summary>Seals a frame from its fields at buffer[offset..] and returns its length; allocates nothing (a light's beacon).</summary>
        public int Seal(FrameType type, uint counter, ushort eventCode, byte qualifier, ushort zone, byte[] payload, int payloadOffset, int payloadLength, byte[] buffer, int offset)
        {
            if (_keys == null)
            {
                return _v1.Encode(type, _deviceId, counter, eventCode, qualifier, zone, payload, payloadOffset, payloadLength, _key, buffer, offset);
            }

            return _v2.Encode(type, counter, eventCode, qualifier, zone, payload, payloadOffset, payloadLength, _keys, buffer, offset);
        }

        /// <summary>Seals <paramref name="frame"/> into a new array (an MQTT payload).</summary>
        public byte[] Seal(Frame frame)
        {
            return _keys == null ? _v1.Encode(frame, _key) : _v2.Encode(frame, _keys);
        }

        /// <summary>
        /// Opens a downlink meant for this device: a frame of this device (version 1: its id; version 2: its id resolves
        /// under the device's downlink id key) whose tag checks. The reason is <see cref="FrameError.BadTag"/> for a
        /// forgery, another error for anything malformed or not this device's.
        /// </summary>
        public FrameReadResult OpenDownlink(byte[] payload)
        {
            if (_downlinkKeys == null)
            {
                return _v1.Decode(payload, 0, payload.Length, _key);
            }

            FrameError error = _v2.Verify(payload, 0, payload.Length, FrameDirectionBit.Downlink, _downlinkKeys, _plaintext);
            if (error != FrameError.None)
            {
                return FrameReadResult.Fail(error);
            }

            int plainLength = payload.Length - FrameCodecV2.HeaderLength - FrameCodecV2.TagLength;
            return FrameReadResult.Ok(FrameCodecV2.ReadFrame(_plaintext, plainLength, _deviceId, _downlinkKeys.Epoch));
        }

        /// <summary>
        /// Version 2, allocating nothing: opens the downlink at data[offset..] into <paramref name="plaintext"/> (type, counter,
        /// payload, §10) under the keys of the epoch its id names (<see cref="DownlinkEpoch"/>). <see cref="FrameError.UnknownDevice"/>
        /// for a frame whose id does not resolve here (a neighbour's, not to be counted), <see cref="FrameError.BadTag"/> for a forgery.
        /// </summary>
        public FrameError OpenDownlink(byte[] data, int offset, int count, byte[] plaintext)
        {
            return _downlinkKeys == null
                ? FrameError.UnknownVersion
                : _v2.Verify(data, offset, count, FrameDirectionBit.Downlink, _downlinkKeys, plaintext);
        }

        /// <summary>The key epoch of the downlink last opened.</summary>
        public byte DownlinkEpoch
        {
            get { return _downlinkKeys == null ? (byte)0 : _downlinkKeys.Epoch; }
        }

        /// <summary>
        /// On the radio's thread, without a MAC: whether a heard frame may be a downlink of <paramref name="type"/> for this
        /// device. Version 1 reads type and id in clear; version 2 shows neither, so every downlink-shaped frame is kept
        /// and the loop resolves its id (one HMAC), dropping others' frames uncounted.
        /// </summary>
        public bool MayBeDownlinkFor(byte[] data, int offset, int length, FrameType type)
        {
            if (_keys == null)
            {
                return length >= FrameCodec.MinFrameLength && (data[offset] & 0x0F) == (int)type
                    && BigEndian.ReadUInt32(data, offset + 1) == _deviceId;
            }

            return FrameCodecV2.Validate(data, offset, length) == FrameError.None && FrameCodecV2.ReadDirection(data, offset) == FrameDirectionBit.Downlink;
        }

        /// <summary>Version 2: whether a queued downlink's id resolves to this device (not: a neighbour's frame, not counted).</summary>
        public bool IsAddressedHere(byte[] payload)
        {
            return _keys == null
                || (FrameCodecV2.Validate(payload, 0, payload.Length) == FrameError.None
                    && _v2.ResolveEpoch(payload, 0, _keys.IdKey(FrameCodecV2.ReadDirection(payload, 0))) >= 0);
        }
    }
}
