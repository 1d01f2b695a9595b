using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Streetlight
{
    /// <summary>
    /// What provisioning leaves in a light's flash: its id, its own key and where it stands. Record
    /// <see cref="RecordName"/>: version (1) · light id (4) · key (32) · latitude and longitude in micro-degrees, signed
    /// (4 + 4), all big-endian. Version 1 also held the city-wide escort key after the key; it is read, and that key
    /// ignored: a light takes escorts only under its area's key (<see cref="AreaEscortKeys"/>).
    /// </summary>
    public static class LightIdentity
    {
        public const string RecordName = "identity";
        public const int RecordLength = 1 + 4 + 32 + 4 + 4;

        private const byte RecordVersion = 2;
        private const byte CityKeyRecordVersion = 1;
        private const int CityKeyRecordLength = RecordLength + 32;

        public static byte[] Encode(uint lightId, byte[] key, double latitude, double longitude)
        {
            if (key == null || key.Length != 32)
            {
                throw new System.ArgumentException("keys must be 32 bytes");
            }

            var image = new byte[RecordLength];
            image[0] = RecordVersion;
            BigEndian.WriteUInt32(image, 1, lightId);
            System.Array.Copy(key, 0, image, 5, 32);
            BigEndian.WriteUInt32(image, 37, (uint)MicroDegrees(latitude));
            BigEndian.WriteUInt32(image, 41, (uint)MicroDegrees(longitude));
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
            int place;
            if (image != null && image.Length == RecordLength && image[0] == RecordVersion)
            {
                place = 37;
            }
            else if (image != null && image.Length == CityKeyRecordLength && image[0] == CityKeyRecordVersion)
            {
                place = 69;
            }
            else
            {
                return null;
            }

            double latitude = (int)BigEndian.ReadUInt32(image, place) / 1000000.0;
            double longitude = (int)BigEndian.ReadUInt32(image, place + 4) / 1000000.0;
            if (latitude < -90 || latitude > 90 || longitude < -180 || longitude > 180)
            {
                return null;
            }

            var key = new byte[32];
            System.Array.Copy(image, 5, key, 0, 32);
            return new StreetlightConfig(BigEndian.ReadUInt32(image, 1), key, latitude, longitude);
        }
    }
}
