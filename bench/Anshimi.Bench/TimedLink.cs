using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Bench;

/// <summary>Reports an alarm frame's key and wall-clock time when the firmware first hands it to the link.</summary>
internal delegate void AlarmFrameSent(string key, DateTimeOffset at);

/// <summary>
/// Wraps a bell's link and notes when the firmware first hands each alarm frame to it: the
/// "press" instant of the latency measurement (the deliberate-press threshold itself is excluded).
/// </summary>
internal sealed class TimedLink(IMqttLink inner, uint deviceId, byte[] frameKey, AlarmFrameSent sent) : IMqttLink
{
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);
    private readonly FrameCodecV2 _v2 = new(new PlatformHmacSha256());
    private readonly FrameKeySet _keys = new(new PlatformHmacSha256(), frameKey, 0);

    public bool IsConnected => inner.IsConnected;

    public event MqttMessageHandler MessageReceived
    {
        add => inner.MessageReceived += value;
        remove => inner.MessageReceived -= value;
    }

    public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;

        // A version-2 frame shows neither type nor counter: opened with the bell's own key, as its gateway does.
        FrameReadResult frame = FrameCodecV2.IsVersion2(payload, 0, payload.Length)
            ? _v2.Decode(payload, 0, payload.Length, FrameDirectionBit.Uplink, deviceId, _keys)
            : FrameCodec.ReadUnverified(payload, 0, payload.Length);
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
