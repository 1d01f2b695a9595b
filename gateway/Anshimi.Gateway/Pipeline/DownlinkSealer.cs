using Anshimi.Gateway.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Pipeline;

/// <summary>
/// Seals a downlink (ack, command) for one device in the frame version the device last spoke (protocol/README.md §10):
/// version 2 under its downlink keys for a device that sends version 2, version 1 under its frame key otherwise.
/// Thread-safe.
/// </summary>
public sealed class DownlinkSealer
{
    private readonly FrameCodec _v1 = new(new PlatformHmacSha256());
    private readonly FrameCodecV2 _v2 = new(new PlatformHmacSha256());
    private readonly Lock _lock = new();

    public byte[] Seal(DeviceEntry device, Frame frame)
    {
        lock (_lock)
        {
            return device.FrameVersion == FrameCodecV2.Version ? _v2.Encode(frame, device.DownlinkKeys) : _v1.Encode(frame, device.Key);
        }
    }
}
