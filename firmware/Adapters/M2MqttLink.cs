using System;
using System.Collections;
using System.Text;
using System.Threading;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using nanoFramework.M2Mqtt;
using nanoFramework.M2Mqtt.Messages;

namespace Anshimi.Firmware.Adapters
{
    /// <summary>
    /// A device's MQTT session over nanoFramework.M2Mqtt, shared by the bell and the doorbell apps: user name is the
    /// device id, client id <c>anshimi/{id}</c>, persistent session, retained last will "offline" and retained "online" on every
    /// connect, keepalive 30 s. A thread of its own keeps the session up, waiting between attempts as
    /// <see cref="ReconnectBackoff"/> says (full jitter, 100 ms doubling to 1 s), so a street of devices does not
    /// return to a restarted broker in one burst. Publishes and subscribes wait for the broker's answer no longer
    /// than the timeout given.
    /// </summary>
    public sealed class M2MqttLink : IMqttLink
    {
        private const ushort KeepAliveSeconds = 30;

        // Connected, the thread only wakes on ConnectionClosed; this poll covers a close it did not hear of.
        private const int ConnectedPollMs = 5000;

        private readonly string _host;
        private readonly int _port;
        private readonly string _userName;
        private readonly string _clientId;
        private readonly string _password;
        private readonly string _statusTopic;
        private readonly IClock _clock;
        private readonly ReconnectBackoff _backoff;
        private readonly object _gate = new object();
        private readonly Hashtable _confirmed = new Hashtable();
        private readonly AutoResetEvent _answer = new AutoResetEvent(false);
        private readonly AutoResetEvent _lost = new AutoResetEvent(false);
        private MqttClient _client;

        public M2MqttLink(string host, int port, uint deviceId, string password, IClock clock, IRandom random)
        {
            _host = host;
            _port = port;
            _userName = DeviceIdText.Format(deviceId);

            // The box broker requires this prefix on every id sent and names the session after the account anyway.
            _clientId = "anshimi/" + _userName;
            _password = password;
            _statusTopic = Topics.DeviceStatus(deviceId);
            _clock = clock;
            // Its own random source: System.Random is not safe to share with the device loop's thread.
            _backoff = new ReconnectBackoff(random, ReconnectBackoff.DefaultInitialMs, ReconnectBackoff.DefaultMaxMs);
            new Thread(KeepConnected).Start();
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
            long deadline = _clock.MonotonicMs + timeoutMs;
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

                long left = deadline - _clock.MonotonicMs;
                if (left <= 0)
                {
                    return false;
                }

                _answer.WaitOne((int)left, false);
            }
        }

        private void KeepConnected()
        {
            while (true)
            {
                if (TryConnect())
                {
                    _backoff.Connected(_clock.MonotonicMs);
                    while (IsConnected)
                    {
                        _lost.WaitOne(ConnectedPollMs, false);
                    }
                }

                // Also after a drop: a broker restart drops every device at the same moment.
                Thread.Sleep(_backoff.NextDelayMs(_clock.MonotonicMs));
            }
        }

        private bool TryConnect()
        {
            MqttClient client = null;
            try
            {
                client = new MqttClient(_host, _port, false, null, null, MqttSslProtocols.None);
                client.MqttMsgPublishReceived += OnPublishReceived;
                client.MqttMsgPublished += OnPublished;
                client.MqttMsgSubscribed += OnSubscribed;
                client.ConnectionClosed += OnConnectionClosed;
                MqttReasonCode code = client.Connect(
                    _clientId, _userName, _password, true, MqttQoSLevel.AtLeastOnce, true, _statusTopic, "offline", false, KeepAliveSeconds);
                if (code != MqttReasonCode.Success)
                {
                    // Refused (a deleted account, a wrong password): the client's threads are ended before the next try.
                    client.Close();
                    return false;
                }

                _client = client;
                client.Publish(_statusTopic, Encoding.UTF8.GetBytes("online"), null, null, MqttQoSLevel.AtLeastOnce, true);
                return true;
            }
            catch (Exception)
            {
                // Broker or network away (M2Mqtt throws MqttConnectionException): the backoff decides when to try again.
                if (client != null)
                {
                    client.Close();
                }

                return false;
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
