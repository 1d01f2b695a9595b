using Anshimi.Ble;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests.Lights;

/// <summary>
/// A streetlight controller as protocol/README.md §3 describes it, on a simulated radio: it scans for command frames
/// addressed to it, accepts one only when the tag verifies under its key and the counter is above the last it
/// accepted, holds the mode for the commanded seconds after the last command, and advertises a signed beacon with a
/// fresh counter whenever its state changes (and when <see cref="Tick"/> finds the hold ran out).
/// </summary>
public sealed class SimulatedStreetlight
{
    public static readonly TimeSpan BeaconInterval = TimeSpan.FromMilliseconds(200);

    private readonly IBleTransport _radio;
    private readonly TestDevice _device;
    private readonly TimeProvider _time;
    private readonly FrameCodec _codec = new(new PlatformHmacSha256());
    private uint _beaconCounter;
    private byte _commanded = LightMode.Schedule;
    private DateTimeOffset? _holdUntil;
    private byte _beaconed = 0xFF;

    public SimulatedStreetlight(IBleTransport radio, TestDevice device, TimeProvider time)
    {
        _radio = radio;
        _device = device;
        _time = time;
        _radio.AdvertisementReceived += OnHeard;
        _radio.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None).GetAwaiter().GetResult();
        Tick();
    }

    public uint Id => _device.Id;

    /// <summary>Downlink counter of the last command accepted.</summary>
    public uint LastCommandCounter { get; private set; }

    /// <summary>When each accepted command arrived.</summary>
    public List<DateTimeOffset> AcceptedAt { get; } = [];

    /// <summary>Command frames for this light that failed the tag check.</summary>
    public int Forged { get; private set; }

    /// <summary>Command frames for this light at or below the last accepted counter (the gateway's repeats, or replays).</summary>
    public int Stale { get; private set; }

    /// <summary>What the light does now: the commanded mode while its hold lasts, else its schedule.</summary>
    public byte Mode => _holdUntil is { } until && _time.GetUtcNow() >= until ? LightMode.Schedule : _commanded;

    /// <summary>
    /// The power goes away and comes back: the light boots with the command floor its flash holds, the end of the last
    /// accepted counter's block (protocol/README.md §2), and on its schedule.
    /// </summary>
    public void PowerCut()
    {
        LastCommandCounter = CounterBlock.End(LastCommandCounter, CounterBlock.LightCommand);
        _commanded = LightMode.Schedule;
        _holdUntil = null;
        Beacon();
    }

    /// <summary>Beacons again when the hold ran out since the last beacon.</summary>
    public void Tick()
    {
        if (Mode != _beaconed)
        {
            Beacon();
        }
    }

    private void OnHeard(object? sender, BleAdvertisementReport report)
    {
        if (!BleAdvertisement.TryFindFrame(report.Data, 0, report.Data.Length, out int offset, out int length))
        {
            return;
        }

        byte[] bytes = report.Data.AsSpan(offset, length).ToArray();
        FrameReadResult structure = FrameCodec.ReadUnverified(bytes, 0, bytes.Length);
        if (!structure.IsOk || structure.Frame!.Type != FrameType.Command || structure.Frame.DeviceId != _device.Id)
        {
            return;
        }

        FrameReadResult verified = _codec.Decode(bytes, 0, bytes.Length, _device.Key);
        if (!verified.IsOk)
        {
            Forged++;
            return;
        }

        Frame command = verified.Frame!;
        if (command.Counter <= LastCommandCounter)
        {
            Stale++;
            return;
        }

        LastCommandCounter = command.Counter;
        AcceptedAt.Add(_time.GetUtcNow());
        _commanded = FramePayloads.CommandMode(command);
        ushort hold = FramePayloads.CommandHoldSeconds(command);
        _holdUntil = _commanded == LightMode.Schedule || hold == 0 ? null : _time.GetUtcNow() + TimeSpan.FromSeconds(hold);
        Beacon();
    }

    private void Beacon()
    {
        _beaconed = Mode;
        byte[] frame = _codec.Encode(FramePayloads.Beacon(_device.Id, ++_beaconCounter, _beaconed, lampFault: false, level: _beaconed == LightMode.Schedule ? (byte)40 : (byte)100), _device.Key);
        var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(frame, 0, frame.Length, withFlags: true, advertisement, 0);
        _radio.SetAdvertisingAsync(advertisement.AsMemory(0, length), BeaconInterval, CancellationToken.None).GetAwaiter().GetResult();
    }
}
