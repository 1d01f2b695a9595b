using Anshimi.Protocol.Security;

namespace Anshimi.Protocol
{
    /// <summary>
    /// The version-2 keys one device's frame key yields (protocol/README.md §10): per direction an id-resolving key
    /// (the same in every epoch), and for the current key epoch a tag key and an encryption key. Derived with HKDF-SHA256
    /// under distinct labels, so no key serves two purposes or both directions. Re-deriving allocates nothing.
    /// </summary>
    public sealed class FrameKeySet
    {
        public const int KeyLength = Sha256.HashLength;

        private static readonly byte[] UplinkIdLabel = Ascii("anshimi/v2 uplink id");
        private static readonly byte[] DownlinkIdLabel = Ascii("anshimi/v2 downlink id");
        private static readonly byte[] UplinkTagLabel = Ascii("anshimi/v2 uplink tag");
        private static readonly byte[] UplinkEncryptionLabel = Ascii("anshimi/v2 uplink enc");
        private static readonly byte[] DownlinkTagLabel = Ascii("anshimi/v2 downlink tag");
        private static readonly byte[] DownlinkEncryptionLabel = Ascii("anshimi/v2 downlink enc");

        private readonly byte[][] _id = { new byte[KeyLength], new byte[KeyLength] };
        private readonly byte[][] _tag = { new byte[KeyLength], new byte[KeyLength] };
        private readonly byte[][] _encryption = { new byte[KeyLength], new byte[KeyLength] };
        private readonly byte[] _frameKey = new byte[KeyLength];
        private readonly HkdfSha256 _hkdf;

        public FrameKeySet(IHmacSha256 mac, byte[] frameKey, byte epoch)
        {
            if (frameKey == null || frameKey.Length != KeyLength)
            {
                throw new System.ArgumentException("a frame key is 32 bytes");
            }

            _hkdf = new HkdfSha256(mac);
            System.Array.Copy(frameKey, _frameKey, KeyLength);
            _hkdf.Derive(_frameKey, null!, UplinkIdLabel, _id[FrameDirectionBit.Uplink]);
            _hkdf.Derive(_frameKey, null!, DownlinkIdLabel, _id[FrameDirectionBit.Downlink]);
            DeriveEpoch(epoch);
        }

        /// <summary>The key epoch whose tag and encryption keys this set holds.</summary>
        public byte Epoch { get; private set; }

        /// <summary>Moves the tag and encryption keys to <paramref name="epoch"/>; the id-resolving keys stay.</summary>
        public void MoveTo(byte epoch)
        {
            if (epoch != Epoch)
            {
                DeriveEpoch(epoch);
            }
        }

        /// <summary>The id-resolving key of <paramref name="direction"/> (<see cref="FrameDirectionBit"/>).</summary>
        public byte[] IdKey(int direction)
        {
            return _id[direction];
        }

        public byte[] TagKey(int direction)
        {
            return _tag[direction];
        }

        public byte[] EncryptionKey(int direction)
        {
            return _encryption[direction];
        }

        private void DeriveEpoch(byte epoch)
        {
            _hkdf.Derive(_frameKey, epoch, UplinkTagLabel, _tag[FrameDirectionBit.Uplink]);
            _hkdf.Derive(_frameKey, epoch, UplinkEncryptionLabel, _encryption[FrameDirectionBit.Uplink]);
            _hkdf.Derive(_frameKey, epoch, DownlinkTagLabel, _tag[FrameDirectionBit.Downlink]);
            _hkdf.Derive(_frameKey, epoch, DownlinkEncryptionLabel, _encryption[FrameDirectionBit.Downlink]);
            Epoch = epoch;
        }

        private static byte[] Ascii(string text)
        {
            var bytes = new byte[text.Length];
            for (int i = 0; i < text.Length; i++)
            {
                bytes[i] = (byte)text[i];
            }

            return bytes;
        }
    }

    /// <summary>The direction bit of a version-2 frame (bit 0 of its first byte), covered by the tag.</summary>
    public static class FrameDirectionBit
    {
        /// <summary>Device → gateway: alarm, heartbeat, beacon, snapshot chunk.</summary>
        public const int Uplink = 0;

        /// <summary>Gateway → device: ack, command, re-key.</summary>
        public const int Downlink = 1;
    }
}
