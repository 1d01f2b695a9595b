using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Bench;

/// <summary>Reports an alarm frame's key and wall-clock time when the firmware first hands it to the link.</summary>
internal delegate void AlarmFrameSent(string key, DateTimeOffset at);

/// <summary>
/// Wraps a bell's link and notes when the firmware first hands each alarm frame to it: the
/// "press" instant of the latency measurement (the deliberate-press threshold itself is excluded).
/// </summary>
internal sealed class TimedLink(IMqttLink inner, AlarmFrameSent sent) : IMqttLink
{
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);

    public bool IsConnected => inner.IsConnected;

    public event MqttMessageHandler MessageReceived
    {
        add => inner.MessageReceived += value;
        remove => inner.MessageReceived -= value;
    }

    public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        FrameReadResult frame = FrameCodec.ReadUnverified(payload, 0, payload.Length);
        if (frame.IsOk && frame.Frame!.Type == FrameType.Alarm)
        {
            string key = DeviceIdText.Format(frame.Frame.DeviceId) + ":" + frame.Frame.Counter;
            if (_reported.Add(key))
            {
                sent(key, now);
            }
        }

        return inner.Publish(topic, payload, qos1, timeoutMs);
    }

    public bool Subscribe(string topicFilter, int timeoutMs) => inner.Subscribe(topicFilter, timeoutMs);
}
