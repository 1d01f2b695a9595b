namespace Anshimi.Firmware.Hal
{
    /// <summary>Delivers one message that arrived on a subscribed topic.</summary>
    public delegate void MqttMessageHandler(string topic, byte[] payload);

    /// <summary>
    /// The device's MQTT session, synchronous like nanoFramework's M2Mqtt: every call returns within
    /// its timeout. The implementation owns connecting, reconnecting, the last will and the retained
    /// "online" status; the bell only publishes and subscribes.
    /// </summary>
    public interface IMqttLink
    {
        bool IsConnected { get; }

        /// <summary>
        /// Raised on the link's network thread for each message received; handlers only queue it.
        /// </summary>
        event MqttMessageHandler MessageReceived;

        /// <summary>
        /// Publishes (never retained). With <paramref name="qos1"/> true returns once the broker
        /// confirmed it; false on timeout or when not connected.
        /// </summary>
        bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs);

        /// <summary>Subscribes at QoS 1; false on timeout, refusal or when not connected.</summary>
        bool Subscribe(string topicFilter, int timeoutMs);
    }
}
