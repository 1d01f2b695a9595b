namespace Anshimi.Protocol
{
    /// <summary>The MQTT topic tree (protocol/README.md §4).</summary>
    public static class Topics
    {
        public const string Root = "anshimi/v1";

        /// <summary>Device → gateway frames, QoS 1.</summary>
        public const string AllDeviceUplinks = Root + "/d/+/up";

        /// <summary>Every gateway's events to the cloud bridge, QoS 1.</summary>
        public const string AllGatewayEvents = Root + "/gw/+/events";

        public static string DeviceUplink(uint deviceId)
        {
            return Root + "/d/" + DeviceIdText.Format(deviceId) + "/up";
        }

        /// <summary>Gateway → device frames (acks, commands), QoS 1.</summary>
        public static string DeviceDownlink(uint deviceId)
        {
            return Root + "/d/" + DeviceIdText.Format(deviceId) + "/down";
        }

        /// <summary>Gateway → device firmware update messages (§11.4), QoS 1.</summary>
        public static string DeviceUpdateDown(uint deviceId)
        {
            return Root + "/d/" + DeviceIdText.Format(deviceId) + "/ota/down";
        }

        /// <summary>Device → gateway chunk requests and update state reports (§11.4), QoS 1.</summary>
        public static string DeviceUpdateUp(uint deviceId)
        {
            return Root + "/d/" + DeviceIdText.Format(deviceId) + "/ota/up";
        }

        /// <summary>Retained "online" / "offline" (the device's last will).</summary>
        public static string DeviceStatus(uint deviceId)
        {
            return Root + "/d/" + DeviceIdText.Format(deviceId) + "/status";
        }

        /// <summary>Gateway → cloud JSON envelopes, QoS 1.</summary>
        public static string GatewayEvents(string gatewayId)
        {
            return Root + "/gw/" + gatewayId + "/events";
        }

        /// <summary>Cloud → gateway JSON envelopes, QoS 1.</summary>
        public static string GatewayCommands(string gatewayId)
        {
            return Root + "/gw/" + gatewayId + "/commands";
        }

        /// <summary>Retained "online" / "offline" of a gateway (its last will).</summary>
        public static string GatewayStatus(string gatewayId)
        {
            return Root + "/gw/" + gatewayId + "/status";
        }

        /// <summary>Hellos of every unclaimed device, for the gateway's provisioning listener.</summary>
        public const string AllProvisioningHellos = Root + "/prov/+/hello";

        /// <summary>Unclaimed device → gateway: its hello (protocol/README.md §9), QoS 0.</summary>
        public static string ProvisioningHello(uint deviceId)
        {
            return Root + "/prov/" + DeviceIdText.Format(deviceId) + "/hello";
        }

        /// <summary>Gateway → unclaimed device: its sealed credentials, QoS 1.</summary>
        public static string ProvisioningCredentials(uint deviceId)
        {
            return Root + "/prov/" + DeviceIdText.Format(deviceId) + "/creds";
        }

        /// <summary>True for any topic under <c>anshimi/v1/prov/</c>, well-formed or not.</summary>
        public static bool IsProvisioning(string topic)
        {
            return topic != null && topic.StartsWith(Root + "/prov/");
        }

        /// <summary>The device id in a <c>anshimi/v1/prov/{id}/hello</c> topic; false for any other topic.</summary>
        public static bool TryGetHelloDeviceId(string topic, out uint deviceId)
        {
            deviceId = 0;
            string prefix = Root + "/prov/";
            string suffix = "/hello";
            if (topic == null || topic.Length != prefix.Length + 8 + suffix.Length || !topic.StartsWith(prefix) || !topic.EndsWith(suffix))
            {
                return false;
            }

            return DeviceIdText.TryParse(topic.Substring(prefix.Length, 8), out deviceId);
        }

        /// <summary>The device id in a <c>anshimi/v1/d/{id}/...</c> topic; false when the topic is not one.</summary>
        public static bool TryGetDeviceId(string topic, out uint deviceId)
        {
            deviceId = 0;
            string prefix = Root + "/d/";
            if (topic == null || topic.Length < prefix.Length + 9 || !topic.StartsWith(prefix) || topic[prefix.Length + 8] != '/')
            {
                return false;
            }

            return DeviceIdText.TryParse(topic.Substring(prefix.Length, 8), out deviceId);
        }

        /// <summary>The gateway id in a <c>anshimi/v1/gw/{id}/...</c> topic, or null.</summary>
        public static string? GatewayIdOf(string topic)
        {
            string prefix = Root + "/gw/";
            if (topic == null || !topic.StartsWith(prefix))
            {
                return null;
            }

            int end = topic.IndexOf('/', prefix.Length);
            return end <= prefix.Length ? null : topic.Substring(prefix.Length, end - prefix.Length);
        }
    }
}
