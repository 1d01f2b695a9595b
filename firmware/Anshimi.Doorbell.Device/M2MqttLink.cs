using System.Threading;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using nanoFramework.M2Mqtt;
using nanoFramework.M2Mqtt.Messages;

namespace Anshimi.Doorbell.Device
{
    /// <summary>
    /// The device's MQTT session over nanoFramework's M2Mqtt: user and client id = device id, persistent
    /// session, retained last will "offline" and "online" on every connect, keepalive 30 s. Every call has an
    /// explicit timeout: a QoS 1 publish waits for its PUBACK (MqttMsgPublished) at most the time given.
    /// <see cref="Reconnect"/> is called by the device loop when the session dropped.
    /// </summary>
    public sealed class M2MqttLink : IMqttLink
    {
        private const ushort KeepAliveSeconds = 30;

        private readonly MqttClient _client;
        private readonly string _clientId;
        private readonly string _password;
        private readonly string _statusTopic;
        private readonly AutoResetEvent _published = new AutoResetEvent(false);
        private readonly AutoResetEvent _subscribed = new AutoResetEvent(false);
        private readonly object _publishLock = new object();
        private ushort _awaitedId;
        private bool _awaitedOk;

        public M2MqttLink(string brokerHost, int brokerPort, uint deviceId, string password)
        {
            _clientId = DeviceIdText.Format(deviceId);
            _password = password;
            _statusTopic = Topics.DeviceStatus(deviceId);
            _client = new MqttClient(brokerHost, brokerPort, false, null, null, MqttSslProtocols.None);
            _client.Settings.TimeoutOnConnection = 5000;
            _client.Settings.TimeoutOnReceiving = 5000;
            _client.MqttMsgPublishReceived += OnPublishReceived;
            _client.MqttMsgPublished += OnPublished;
            _client.MqttMsgSubscribed += OnSubscribed;
        }

        public event MqttMessageHandler MessageReceived;

        public bool IsConnected
        {
            get { return _client.IsConnected; }
        }

        /// <summary>Opens the session if it is down; false when the broker could not be reached or refused.</summary>
        public bool Reconnect()
        {
            if (_client.IsConnected)
            {
                return true;
            }

            try
            {
                MqttReasonCode code = _client.Connect(_clientId, _clientId, _password, true, MqttQoSLevel.AtLeastOnce, true, _statusTopic, "offline", false, KeepAliveSeconds);
                if (code != MqttReasonCode.Success)
                {
                    return false;
                }

                _client.Publish(_statusTopic, System.Text.Encoding.UTF8.GetBytes("online"), null, null, MqttQoSLevel.AtLeastOnce, true);
                return true;
            }
            catch (System.Exception)
            {
                // Socket errors and timeouts alike: the loop tries again later.
                return false;
            }
        }

        public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs)
        {
            if (!_client.IsConnected)
            {
                return false;
            }

            lock (_publishLock)
            {
                try
                {
                    _published.Reset();
                    _awaitedOk = false;
                    _awaitedId = _client.Publish(topic, payload, null, null, qos1 ? MqttQoSLevel.AtLeastOnce : MqttQoSLevel.AtMostOnce, false);
                    if (!qos1)
                    {
                        return true;
                    }

                    return _published.WaitOne(timeoutMs, false) && _awaitedOk;
                }
                catch (System.Exception)
                {
                    return false;
                }
            }
        }

        public bool Subscribe(string topicFilter, int timeoutMs)
        {
            if (!_client.IsConnected)
            {
                return false;
            }

            try
            {
                _subscribed.Reset();
                _client.Subscribe(new[] { topicFilter }, new[] { MqttQoSLevel.AtLeastOnce });
                return _subscribed.WaitOne(timeoutMs, false);
            }
            catch (System.Exception)
            {
                return false;
            }
        }

        private void OnPublished(object sender, MqttMsgPublishedEventArgs e)
        {
            if (e.MessageId == _awaitedId)
            {
                _awaitedOk = e.IsPublished;
                _published.Set();
            }
        }

        private void OnSubscribed(object sender, MqttMsgSubscribedEventArgs e)
        {
            _subscribed.Set();
        }

        private void OnPublishReceived(object sender, MqttMsgPublishEventArgs e)
        {
            MqttMessageHandler handler = MessageReceived;
            if (handler != null)
            {
                handler(e.Topic, e.Message);
            }
        }
    }
}
