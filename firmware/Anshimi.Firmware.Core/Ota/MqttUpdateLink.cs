using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Ota
{
    /// <summary>Update messages over the device's broker session: <c>…/ota/down</c> in, <c>…/ota/up</c> out at QoS 1 (§11.4).</summary>
    public sealed class MqttUpdateLink : IUpdateLink
    {
        private readonly IMqttLink _link;
        private readonly int _timeoutMs;
        private readonly string _upTopic;
        private ApplicationUpdates? _updates;

        public MqttUpdateLink(IMqttLink link, uint deviceId, int timeoutMs)
        {
            _link = link;
            _timeoutMs = timeoutMs;
            _upTopic = Topics.DeviceUpdateUp(deviceId);
            DownTopic = Topics.DeviceUpdateDown(deviceId);
        }

        /// <summary>The topic whose messages go to <see cref="UpdateClient.Handle"/>.</summary>
        public string DownTopic { get; }

        public bool IsConnected
        {
            get { return _link.IsConnected; }
        }

        public bool AsksForChunks
        {
            get { return true; }
        }

        public bool Open()
        {
            return _link.Subscribe(DownTopic, _timeoutMs);
        }

        public bool Send(byte[] message)
        {
            return _link.Publish(_upTopic, message, true, _timeoutMs);
        }

        /// <summary>Hands every message on <see cref="DownTopic"/> to <paramref name="updates"/>, from the session's thread.</summary>
        public void DeliverTo(ApplicationUpdates updates)
        {
            _updates = updates;
            _link.MessageReceived += OnMessage;
        }

        /// <summary>Stops delivering (the simulator, when it restarts a device on the same session).</summary>
        public void StopDelivering()
        {
            _link.MessageReceived -= OnMessage;
        }

        private void OnMessage(string topic, byte[] payload)
        {
            ApplicationUpdates? updates = _updates;
            if (updates != null && topic == DownTopic)
            {
                updates.Receive(payload);
            }
        }
    }
}
