using System.Text;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Bell.Device
{
    /// <summary>
    /// What provisioning leaves in flash for this bell, one <c>key=value</c> a line in the entry "settings":
    /// <c>id</c> (8 hex digits), <c>key</c> (64 hex digits, the frame key), <c>profile</c> (home, shop, voice,
    /// battery), and for Wi-Fi profiles <c>ssid</c>, <c>wifi</c>, <c>broker</c>, <c>port</c>, <c>mqtt</c>.
    /// A missing or broken entry leaves the bell unconfigured; it never runs on defaults.
    /// </summary>
    public sealed class DeviceSettings
    {
        public const string RecordName = "settings";

        public uint DeviceId { get; private set; }

        public byte[] Key { get; private set; }

        public string Profile { get; private set; } = "";

        public string Ssid { get; private set; } = "";

        public string WifiPassword { get; private set; } = "";

        public string Broker { get; private set; } = "";

        public int Port { get; private set; } = 1883;

        public string MqttPassword { get; private set; } = "";

        /// <summary>The settings, or null when the entry is missing or incomplete.</summary>
        public static DeviceSettings Load(IDeviceStorage storage)
        {
            byte[] image = storage.Read(RecordName);
            if (image == null)
            {
                return null;
            }

            var settings = new DeviceSettings();
            string[] lines = Encoding.UTF8.GetString(image, 0, image.Length).Split('\n');
            foreach (string raw in lines)
            {
                string line = raw.Trim();
                int eq = line.IndexOf('=');
                if (eq <= 0)
                {
                    continue;
                }

                string name = line.Substring(0, eq);
                string value = line.Substring(eq + 1);
                uint id;
                switch (name)
                {
                    case "id":
                        if (!DeviceIdText.TryParse(value, out id))
                        {
                            return null;
                        }

                        settings.DeviceId = id;
                        break;
                    case "key": settings.Key = Hex(value); break;
                    case "profile": settings.Profile = value; break;
                    case "ssid": settings.Ssid = value; break;
                    case "wifi": settings.WifiPassword = value; break;
                    case "broker": settings.Broker = value; break;
                    case "port":
                        int port = ParseDecimal(value);
                        if (port < 1 || port > 65535)
                        {
                            return null;
                        }

                        settings.Port = port;
                        break;
                    case "mqtt": settings.MqttPassword = value; break;
                }
            }

            return settings.DeviceId != 0 && settings.Key != null && settings.Key.Length == 32 ? settings : null;
        }

        /// <summary>Digits only, at most 5 of them; -1 otherwise.</summary>
        private static int ParseDecimal(string text)
        {
            if (text.Length == 0 || text.Length > 5)
            {
                return -1;
            }

            int value = 0;
            foreach (char c in text)
            {
                if (c < '0' || c > '9')
                {
                    return -1;
                }

                value = (value * 10) + (c - '0');
            }

            return value;
        }

        /// <summary>Hex digits in pairs, either case; null otherwise.</summary>
        private static byte[] Hex(string text)
        {
            if (text.Length % 2 != 0)
            {
                return null;
            }

            var bytes = new byte[text.Length / 2];
            for (int i = 0; i < bytes.Length; i++)
            {
                int high = Nibble(text[i * 2]);
                int low = Nibble(text[(i * 2) + 1]);
                if (high < 0 || low < 0)
                {
                    return null;
                }

                bytes[i] = (byte)((high << 4) | low);
            }

            return bytes;
        }

        private static int Nibble(char c)
        {
            if (c >= '0' && c <= '9')
            {
                return c - '0';
            }

            if (c >= 'a' && c <= 'f')
            {
                return c - 'a' + 10;
            }

            if (c >= 'A' && c <= 'F')
            {
                return c - 'A' + 10;
            }

            return -1;
        }
    }
}
