using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Streetlight
{
    /// <summary>
    /// What provisioning leaves in a light's flash: its id, its own key, the city's escort key and where it stands.
    /// Record <see cref="RecordName"/>: version (1) · light id (4) · key (32) · escort key (32) · latitude and
    /// longitude in micro-degrees, signed (4 + 4), all big-endian.
    /// </summary>
    public static class LightIdentity
    {
        public const string RecordName = "identity";
        public const int RecordLength = 1 + 4 + 32 + 32 + 4 + 4;

        private const byte RecordVersion = 1;

        public static byte[] Encode(uint lightId, byte[] key, byte[] escortKey, double latitude, double longitude)
        {
            if (key == null || key.Length != 32 || escortKey == null || escortKey.Length != 32)
            {
                throw new System.ArgumentException("keys must be 32 bytes");
            }

            var image = new byte[RecordLength];
            image[0] = RecordVersion;
            BigEndian.WriteUInt32(image, 1, lightId);
            System.Array.Copy(key, 0, image, 5, 32);
            System.Array.Copy(escortKey, 0, image, 37, 32);
            BigEndian.WriteUInt32(image, 69, (uint)MicroDegrees(latitude));
            BigEndian.WriteUInt32(image, 73, (uint)MicroDegrees(longitude));
            return image;
        }

        /// <summary>Degrees to whole micro-degrees, rounding half to even as Math.Round does (not in nanoFramework's core library).</summary>
        private static int MicroDegrees(double degrees)
        {
            double value = degrees * 1000000.0;
            long whole = (long)value;
            if (whole > value)
            {
                whole--;
            }

            double fraction = value - whole;
            if (fraction > 0.5 || (fraction == 0.5 && (whole & 1) != 0))
            {
                whole++;
            }

            return (int)whole;
        }

        /// <summary>The light's configuration, or null when the entry is missing or does not parse (an unprovisioned light).</summary>
        public static StreetlightConfig? Load(IDeviceStorage storage)
        {
            byte[]? image = storage.Read(RecordName);
            if (image == null || image.Length != RecordLength || image[0] != RecordVersion)
            {
                return null;
            }

            double latitude = (int)BigEndian.ReadUInt32(image, 69) / 1000000.0;
            double longitude = (int)BigEndian.ReadUInt32(image, 73) / 1000000.0;
            if (latitude < -90 || latitude > 90 || longitude < -180 || longitude > 180)
            {
                return null;
            }

            var key = new byte[32];
            var escortKey = new byte[32];
            System.Array.Copy(image, 5, key, 0, 32);
            System.Array.Copy(image, 37, escortKey, 0, 32);
            return new StreetlightConfig(BigEndian.ReadUInt32(image, 1), key, escortKey, latitude, longitude);
        }
    }
}
