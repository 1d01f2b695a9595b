using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;

namespace Anshimi.Firmware.Tests;

/// <summary>
/// An in-memory broker connection that records what the bell publishes. A slow broker is played by
/// <see cref="PublishDelayMs"/>: each publish moves the virtual clock on while the bell waits, and
/// whatever is scheduled on the clock meanwhile (a press, say) happens during the stall.
/// </summary>
public sealed class FakeMqttLink(VirtualClock clock) : IMqttLink
{
    public event MqttMessageHandler? MessageReceived;

    public bool IsConnected { get; set; } = true;

    /// <summary>When false, publishes fail as a timed-out PUBACK would.</summary>
    public bool AcceptPublishes { get; set; } = true;

    /// <summary>How long each publish takes to be confirmed; one that takes longer than its timeout fails after the timeout.</summary>
    public int PublishDelayMs { get; set; }

    /// <summary>The timeout of every publish call, in order.</summary>
    public List<int> PublishTimeouts { get; } = [];

    public List<Published> Published { get; } = [];

    public List<string> Subscriptions { get; } = [];

    public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs)
    {
        if (!IsConnected || !AcceptPublishes)
        {
            return false;
        }

        PublishTimeouts.Add(timeoutMs);
        clock.Advance(Math.Min(PublishDelayMs, timeoutMs));
        if (PublishDelayMs > timeoutMs)
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
        PublishTimeouts.Clear();
        Subscriptions.Clear();
    }
}

public sealed record Published(string Topic, byte[] Payload, bool Qos1, long AtMs);

/// <summary>No jitter, so retry times are exact.</summary>
public sealed class NoJitter : IRandom
{
    public int Next(int maxExclusive) => 0;
}
