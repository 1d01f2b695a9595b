using System;
using System.Collections;
using System.Text;
using System.Threading;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using nanoFramework.M2Mqtt;
using nanoFramework.M2Mqtt.Messages;

namespace Anshimi.Bell.Device
{
    /// <summary>
    /// The bell's MQTT session over nanoFramework.M2Mqtt: a connect thread that keeps the session up
    /// (persistent session, last will "offline" retained, "online" retained on every connect), and
    /// publishes and subscribes that wait for the broker's answer no longer than the timeout given.
    /// </summary>
    public sealed class M2MqttLink : IMqttLink
    {
        private const ushort KeepAliveSeconds = 30;

        private readonly string _host;
        private readonly int _port;
        private readonly string _clientId;
        private readonly string _password;
        private readonly string _statusTopic;
        private readonly object _gate = new object();
        private readonly Hashtable _confirmed = new Hashtable();
        private readonly AutoResetEvent _answer = new AutoResetEvent(false);
        private readonly AutoResetEvent _lost = new AutoResetEvent(false);
        private MqttClient _client;

        public M2MqttLink(string host, int port, uint deviceId, string password)
        {
            _host = host;
            _port = port;
            _clientId = DeviceIdText.Format(deviceId);
            _password = password;
            _statusTopic = Topics.DeviceStatus(deviceId);
            new Thread(ConnectLoop).Start();
        }

        public event MqttMessageHandler MessageReceived;

        public bool IsConnected
        {
            get
            {
                MqttClient client = _client;
                return client != null && client.IsConnected;
            }
        }

        public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs)
        {
            MqttClient client = _client;
            if (client == null || !client.IsConnected)
            {
                return false;
            }

            try
            {
                ushort id = client.Publish(topic, payload, null, null, qos1 ? MqttQoSLevel.AtLeastOnce : MqttQoSLevel.AtMostOnce, false);
                return !qos1 || WaitFor(id, timeoutMs);
            }
            catch (Exception)
            {
                return false;
            }
        }

        public bool Subscribe(string topicFilter, int timeoutMs)
        {
            MqttClient client = _client;
            if (client == null || !client.IsConnected)
            {
                return false;
            }

            try
            {
                ushort id = client.Subscribe(new string[] { topicFilter }, new MqttQoSLevel[] { MqttQoSLevel.AtLeastOnce });
                return WaitFor(id, timeoutMs);
            }
            catch (Exception)
            {
                return false;
            }
        }

        // The broker's PUBACK or SUBACK may arrive before Publish returns its id, so answers are kept by id.
        private bool WaitFor(ushort id, int timeoutMs)
        {
            long deadline = Environment.TickCount64 + timeoutMs;
            while (true)
            {
                lock (_gate)
                {
                    if (_confirmed.Contains(id))
                    {
                        _confirmed.Remove(id);
                        return true;
                    }
                }

                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return false;
                }

                _answer.WaitOne((int)left, false);
            }
        }

        private void ConnectLoop()
        {
            int delayMs = 500;
            while (true)
            {
                if (!IsConnected)
                {
                    try
                    {
                        var client = new MqttClient(_host, _port, false, null, null, MqttSslProtocols.None);
                        client.MqttMsgPublishReceived += OnPublishReceived;
                        client.MqttMsgPublished += OnPublished;
                        client.MqttMsgSubscribed += OnSubscribed;
                        client.ConnectionClosed += OnConnectionClosed;
                        MqttReasonCode code = client.Connect(
                            _clientId, _clientId, _password, true, MqttQoSLevel.AtLeastOnce, true, _statusTopic, "offline", false, KeepAliveSeconds);
                        if (code == MqttReasonCode.Success)
                        {
                            _client = client;
                            client.Publish(_statusTopic, Encoding.UTF8.GetBytes("online"), null, null, MqttQoSLevel.AtLeastOnce, true);
                            delayMs = 500;
                        }
                    }
                    catch (Exception)
                    {
                        // Broker or network away: try again later.
                    }

                    delayMs = delayMs >= 5000 ? 10000 : delayMs * 2;
                }

                _lost.WaitOne(delayMs, false);
            }
        }

        private void OnPublishReceived(object sender, MqttMsgPublishEventArgs e)
        {
            MqttMessageHandler handler = MessageReceived;
            if (handler != null)
            {
                handler(e.Topic, e.Message);
            }
        }

        private void OnPublished(object sender, MqttMsgPublishedEventArgs e)
        {
            if (e.IsPublished)
            {
                Confirm(e.MessageId);
            }
        }

        private void OnSubscribed(object sender, MqttMsgSubscribedEventArgs e)
        {
            Confirm(e.MessageId);
        }

        private void Confirm(ushort id)
        {
            lock (_gate)
            {
                _confirmed[id] = true;
            }

            _answer.Set();
        }

        private void OnConnectionClosed(object sender, EventArgs e)
        {
            _lost.Set();
        }
    }
}
