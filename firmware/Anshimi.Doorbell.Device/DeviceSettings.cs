using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Doorbell.Device
{
    /// <summary>
    /// What provisioning leaves in flash (entry <c>device</c>, UTF-8 <c>name=value</c> lines): <c>id</c> (8 hex),
    /// <c>key</c> (64 hex), <c>mqttPassword</c>, <c>broker</c> (host:port), <c>ssid</c>, <c>wifiPassword</c>.
    /// </summary>
    public sealed class DeviceSettings
    {
        public uint DeviceId { get; private set; }

        public byte[] Key { get; private set; }

        public string MqttPassword { get; private set; }

        public string BrokerHost { get; private set; }

        public int BrokerPort { get; private set; }

        public string Ssid { get; private set; }

        public string WifiPassword { get; private set; }

        /// <summary>The settings, or null when the entry is missing or incomplete (the device is not provisioned).</summary>
        public static DeviceSettings Load(IDeviceStorage storage)
        {
            byte[] data = storage.Read("device");
            if (data == null)
            {
                return null;
            }

            var settings = new DeviceSettings { BrokerPort = 1883 };
            string[] lines = System.Text.Encoding.UTF8.GetString(data, 0, data.Length).Split('\n');
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
                switch (name)
                {
                    case "id":
                        uint id;
                        settings.DeviceId = DeviceIdText.TryParse(value, out id) ? id : 0;
                        break;
                    case "key":
                        settings.Key = Hex(value);
                        break;
                    case "mqttPassword":
                        settings.MqttPassword = value;
                        break;
                    case "broker":
                        int colon = value.LastIndexOf(':');
                        settings.BrokerHost = colon > 0 ? value.Substring(0, colon) : value;
                        settings.BrokerPort = colon > 0 ? int.Parse(value.Substring(colon + 1)) : 1883;
                        break;
                    case "ssid":
                        settings.Ssid = value;
                        break;
                    case "wifiPassword":
                        settings.WifiPassword = value;
                        break;
                }
            }

            bool complete = settings.DeviceId != 0 && settings.Key != null && settings.Key.Length == 32
                && settings.MqttPassword != null && settings.BrokerHost != null && settings.Ssid != null;
            return complete ? settings : null;
        }

        private static byte[] Hex(string text)
        {
            if (text.Length % 2 != 0)
            {
                return null;
            }

            var bytes = new byte[text.Length / 2];
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] = (byte)((Nibble(text[2 * i]) << 4) | Nibble(text[(2 * i) + 1]));
            }

            return bytes;
        }

        private static int Nibble(char c)
        {
            return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
        }
    }
}
