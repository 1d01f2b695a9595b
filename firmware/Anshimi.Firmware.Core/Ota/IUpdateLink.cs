namespace Anshimi.Firmware.Ota
{
    /// <summary>
    /// How update messages (protocol/README.md §11.5) reach a device and its reports leave it: MQTT for the Wi-Fi bells
    /// (<see cref="MqttUpdateLink"/>), the BLE carousel for streetlights (<see cref="CarouselReceiver"/>).
    /// </summary>
    public interface IUpdateLink
    {
        /// <summary>Whether reports can go out now (a broker session; a radio is always there).</summary>
        bool IsConnected { get; }

        /// <summary>
        /// True when the device asks for its chunks, in order (MQTT); false when they come unasked and in any order, and
        /// the device keeps what it lacks (a carousel).
        /// </summary>
        bool AsksForChunks { get; }

        /// <summary>After each connection, before the first report: start hearing update messages; false when that failed (tried again).</summary>
        bool Open();

        /// <summary>Sends a chunk request or a state report; false when it did not go out.</summary>
        bool Send(byte[] message);
    }
}
