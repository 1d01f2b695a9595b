namespace Anshimi.Protocol
{
    /// <summary>A device id as it appears in topics, labels and JSON: eight upper-case hex digits.</summary>
    public static class DeviceIdText
    {
        /// <summary>Streetlight ids sit in their own range, so they never collide with bells or doorbells.</summary>
        public const uint FirstStreetlightId = 0x5A000000;

        public const uint LastStreetlightId = 0x5AFFFFFF;

        /// <summary>Ids the cloud keeps for what it creates itself (app emergency reports); no device or gateway may use them.</summary>
        public const uint FirstCloudId = 0x5E000000;

        public const uint LastCloudId = 0x5EFFFFFF;

        private const string Digits = "0123456789ABCDEF";

        public static bool IsStreetlight(uint deviceId) => deviceId >= FirstStreetlightId && deviceId <= LastStreetlightId;

        public static bool IsCloudReserved(uint deviceId) => deviceId >= FirstCloudId && deviceId <= LastCloudId;

        public static string Format(uint deviceId)
        {
            var chars = new char[8];
            for (int i = 7; i >= 0; i--)
            {
                chars[i] = Digits[(int)(deviceId & 0xF)];
                deviceId >>= 4;
            }

            return new string(chars);
        }

        /// <summary>Parses eight hex digits (either case); false for anything else.</summary>
        public static bool TryParse(string text, out uint deviceId)
        {
            deviceId = 0;
            if (text == null || text.Length != 8)
            {
                return false;
            }

            for (int i = 0; i < 8; i++)
            {
                int nibble = HexValue(text[i]);
                if (nibble < 0)
                {
                    deviceId = 0;
                    return false;
                }

                deviceId = (deviceId << 4) | (uint)nibble;
            }

            return true;
        }

        private static int HexValue(char c)
        {
            if (c >= '0' && c <= '9')
            {
                return c - '0';
            }

            if (c >= 'A' && c <= 'F')
            {
                return c - 'A' + 10;
            }

            if (c >= 'a' && c <= 'f')
            {
                return c - 'a' + 10;
            }

            return -1;
        }
    }
}
