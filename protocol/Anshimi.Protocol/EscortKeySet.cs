using Anshimi.Protocol.Security;

namespace Anshimi.Protocol
{
    /// <summary>
    /// The keys one area's escort key of one key epoch yields (protocol/README.md §10.1): a tag key, an encryption key and
    /// the key that derives the escort's air id from the app's session handle, each HKDF-SHA256 under its own label.
    /// A light holds two of these at most (its area's current and previous epoch); the cloud one per area it signs for.
    /// </summary>
    public sealed class EscortKeySet
    {
        public const int KeyLength = Sha256.HashLength;

        private static readonly byte[] TagLabel = Ascii("anshimi/v2 escort tag");
        private static readonly byte[] EncryptionLabel = Ascii("anshimi/v2 escort enc");
        private static readonly byte[] SessionLabel = Ascii("anshimi/v2 escort session");

        private readonly byte[] _tag = new byte[KeyLength];
        private readonly byte[] _encryption = new byte[KeyLength];
        private readonly byte[] _session = new byte[KeyLength];

        public EscortKeySet(IHmacSha256 mac, ushort area, byte epoch, byte[] areaKey)
        {
            if (areaKey == null || areaKey.Length != KeyLength)
            {
                throw new System.ArgumentException("an escort key is 32 bytes");
            }

            if (area == 0)
            {
                throw new System.ArgumentException("area 0 is no area");
            }

            var hkdf = new HkdfSha256(mac);
            hkdf.Derive(areaKey, null!, TagLabel, _tag);
            hkdf.Derive(areaKey, null!, EncryptionLabel, _encryption);
            hkdf.Derive(areaKey, null!, SessionLabel, _session);
            Area = area;
            Epoch = epoch;
        }

        /// <summary>The area the key belongs to (Seoul: the district's five-digit code, e.g. 11215).</summary>
        public ushort Area { get; }

        /// <summary>The key epoch: the cloud's rotation number modulo 256.</summary>
        public byte Epoch { get; }

        public byte[] TagKey
        {
            get { return _tag; }
        }

        public byte[] EncryptionKey
        {
            get { return _encryption; }
        }

        public byte[] SessionKey
        {
            get { return _session; }
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
}
