using Anshimi.Mqtt;

namespace Anshimi.Gateway.Broker;

/// <summary>The broker connection as /healthz reports it.</summary>
public sealed class BrokerStatus
{
    private readonly Lock _lock = new();
    private MqttConnectionState _state = MqttConnectionState.Disconnected;
    private string _reason = "not started";
    private DateTimeOffset _since = DateTimeOffset.UtcNow;

    public (MqttConnectionState State, string Reason, DateTimeOffset Since) Current
    {
        get
        {
            lock (_lock)
            {
                return (_state, _reason, _since);
            }
        }
    }

    public bool IsConnected => Current.State == MqttConnectionState.Connected;

    public void Set(MqttConnectionState state, string reason, DateTimeOffset at)
    {
        lock (_lock)
        {
            _state = state;
            _reason = reason;
            _since = at;
        }
    }
}
