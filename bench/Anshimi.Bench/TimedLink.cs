using System.Collections.Concurrent;
using System.Diagnostics;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Bench;

/// <summary>
/// Wraps a bell's link and notes when the firmware first hands each alarm frame to it: the
/// "press" instant of the latency measurement (the deliberate-press threshold itself is excluded).
/// </summary>
internal sealed class TimedLink(IMqttLink inner, ConcurrentDictionary<string, (long Ticks, DateTimeOffset Wall)> firstSent) : IMqttLink
{
    public bool IsConnected => inner.IsConnected;

    public event MqttMessageHandler MessageReceived
    {
        add => inner.MessageReceived += value;
        remove => inner.MessageReceived -= value;
    }

    public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs)
    {
        long now = Stopwatch.GetTimestamp();
        FrameReadResult frame = FrameCodec.ReadUnverified(payload, 0, payload.Length);
        if (frame.IsOk && frame.Frame!.Type == FrameType.Alarm)
        {
            firstSent.TryAdd(DeviceIdText.Format(frame.Frame.DeviceId) + ":" + frame.Frame.Counter, (now, DateTimeOffset.UtcNow));
        }

        return inner.Publish(topic, payload, qos1, timeoutMs);
    }

    public bool Subscribe(string topicFilter, int timeoutMs) => inner.Subscribe(topicFilter, timeoutMs);
}
