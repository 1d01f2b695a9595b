using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Tests;

/// <summary>An in-memory broker connection that records what the bell publishes.</summary>
public sealed class FakeMqttLink(IClock clock) : IMqttLink
{
    public event MqttMessageHandler? MessageReceived;

    public bool IsConnected { get; set; } = true;

    /// <summary>When false, publishes fail as a timed-out PUBACK would.</summary>
    public bool AcceptPublishes { get; set; } = true;

    public List<Published> Published { get; } = [];

    public List<string> Subscriptions { get; } = [];

    public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs)
    {
        if (!IsConnected || !AcceptPublishes)
        {
            return false;
        }

        Published.Add(new Published(topic, (byte[])payload.Clone(), qos1, clock.MonotonicMs));
        return true;
    }

    public bool Subscribe(string topicFilter, int timeoutMs)
    {
        if (!IsConnected)
        {
            return false;
        }

        Subscriptions.Add(topicFilter);
        return true;
    }

    public void Deliver(string topic, byte[] payload) => MessageReceived?.Invoke(topic, payload);

    /// <summary>Forgets handlers and history, as a rebooted device starts a new connection.</summary>
    public void Reset()
    {
        MessageReceived = null;
        Published.Clear();
        Subscriptions.Clear();
    }
}

public sealed record Published(string Topic, byte[] Payload, bool Qos1, long AtMs);

/// <summary>No jitter, so retry times are exact.</summary>
public sealed class NoJitter : IRandom
{
    public int Next(int maxExclusive) => 0;
}
