using System.Globalization;
using Anshimi.Bench.Allocations;
using Anshimi.Firmware;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;
using Anshimi.Protocol.Upstream;

// Usage: dotnet run --project bench/Anshimi.Bench.Allocations -c Release [-- iterations]
// Allocated bytes per operation on this thread (GC.GetAllocatedBytesForCurrentThread), after a warm-up, in the
// steady state the device runs in for years. Target: zero for everything the device does on every frame and tick.
int iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
byte[] key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
byte[] areaKey = Enumerable.Range(101, 32).Select(i => (byte)i).ToArray();
const ushort Area = 11215;

var rows = new List<(string What, double Bytes, string Note)>();
void Row(string what, double bytes, string note = "") => rows.Add((what, bytes, note));
static uint UnixMinute(DateTime utc) => (uint)((utc - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMinute);

// Baseline in the same run: the measuring loop itself, and a loop that allocates a known 24-byte array.
Row("baseline: empty loop", Measure(iterations, () => { }));
Row("baseline: new byte[24] per iteration", Measure(iterations, () => GC.KeepAlive(new byte[24])), "what one frame buffer costs");

foreach ((string macName, IHmacSha256 mac) in new (string, IHmacSha256)[] { ("portable HmacSha256", new HmacSha256()), ("platform HMACSHA256", new PlatformHmacSha256()) })
{
    var codec = new FrameCodec(mac);
    var beaconPayload = new byte[] { LightMode.Escort, 100 };
    Frame beacon = FramePayloads.Beacon(0x5EED0001, 1, LightMode.Escort, false, 100);
    var buffer = new byte[FrameCodec.MaxAdvertisedFrameLength];
    uint counter = 0;
    Row("encode beacon, Encode(Frame, key) (" + macName + ")", Measure(iterations, () => GC.KeepAlive(codec.Encode(beacon, key))), "returns a new array");
    Row("encode beacon, Encode(Frame, key, buffer, offset) (" + macName + ")", Measure(iterations, () => codec.Encode(beacon, key, buffer, 0)), "frame built once");
    Row("encode beacon from fields into a buffer (" + macName + ")", Measure(iterations, () => codec.Encode(FrameType.Beacon, 0x5EED0001, ++counter, 0, 0, 0, beaconPayload, 0, 2, key, buffer, 0)), "what the streetlight does");

    byte[] command = codec.Encode(FramePayloads.Command(0x5EED0001, 9, LightMode.Emergency, 0), key);
    Row("decode command, Decode (" + macName + ")", Measure(iterations, () => GC.KeepAlive(codec.Decode(command, 0, command.Length, key))), "Frame, payload and result objects");
    Row("decode command, Verify + readers (" + macName + ")", Measure(iterations, () =>
    {
        if (codec.Verify(command, 0, command.Length, key) == FrameError.None)
        {
            Sink.Value += FrameCodec.ReadCounter(command, 0) + FrameCodec.ReadDeviceId(command, 0);
        }
    }), "what the streetlight does");

    // Version 2 (protocol/README.md §10): seal from fields into a buffer, and the receiver's resolve, open and floor.
    var keys = new FrameKeySet(mac, key, 0);
    var codecV2 = new FrameCodecV2(mac);
    var bufferV2 = new byte[FrameCodecV2.UplinkFrameLength];
    var plaintext = new byte[FrameCodecV2.MaxPlaintextLength];
    var heartbeatPayload = new byte[] { 0x00, 87 };
    uint counterV2 = 0;
    Row("v2 encode heartbeat from fields into a buffer (" + macName + ")", Measure(iterations, () => codecV2.Encode(FrameType.Heartbeat, ++counterV2, 0, 0, 0, heartbeatPayload, 0, 2, keys, bufferV2, 0)), "what a bell does");
    Row("v2 encode alarm from fields into a buffer (" + macName + ")", Measure(iterations, () => codecV2.Encode(FrameType.Alarm, ++counterV2, ContactIdCode.Duress, ContactIdQualifier.NewEvent, 3, heartbeatPayload, 0, 0, keys, bufferV2, 0)), "same length as a heartbeat");
    var commandBuffer = new byte[FrameCodecV2.DownlinkFrameLength];
    var commandPayload = new byte[] { LightMode.Emergency, 0, 0 };
    int commandLength = codecV2.Encode(FrameType.Command, 9, 0, 0, 0, commandPayload, 0, 3, keys, commandBuffer, 0);
    var floor = new EpochCounterFloor(0, 0);
    Row("v2 verify command + floor (" + macName + ")", Measure(iterations, () =>
    {
        if (codecV2.Verify(commandBuffer, 0, commandLength, FrameDirectionBit.Downlink, keys, plaintext) == FrameError.None
            && floor.Check(keys.Epoch, FrameCodecV2.ReadCounter(plaintext)) != FrameError.StaleEpoch)
        {
            Sink.Value += FrameCodecV2.ReadCounter(plaintext);
        }
    }), "what the streetlight does");
}

// The streetlight: night schedule, then escort with the walker's advertisement heard every second, then emergency.
DateTime night = new(2025, 6, 21, 13, 0, 0, DateTimeKind.Utc);
foreach (string scenario in new[] { "schedule (night, beacon every 5 s)", "escort (advertisement heard every 1 s)", "emergency (blinking)" })
{
    var clock = new BenchClock(night);
    var pins = new BenchPins();
    var radio = new BenchRadio();
    var storage = new MemoryDeviceStorage();
    var config = new StreetlightConfig(0x5EED0001, key, 37.5665, 126.9780);
    var light = new StreetlightController(config, clock, pins, pins, pins, pins, radio, pins, storage, new HmacSha256());
    light.InstallEscortKey(EscortKeyRecord.Encode(Area, 0, 0, areaKey), 0);
    var escortKeys = new EscortKeySet(new HmacSha256(), Area, 0, areaKey);
    var escortCodec = new EscortFrame(new HmacSha256());
    var frameCodec = new FrameCodec(new HmacSha256());
    var advert = new byte[BleAdvertisement.MaxLegacyDataLength];
    int advertLength = 0;
    if (scenario.StartsWith("emergency", StringComparison.Ordinal))
    {
        // A light speaks version 2 as shipped: its gateway's command is sealed under the light's downlink keys.
        var command = new byte[FrameCodecV2.DownlinkFrameLength];
        new FrameCodecV2(new HmacSha256()).Encode(FrameType.Command, 1, 0, 0, 0, [LightMode.Emergency, 0, 0], 0, 3, new FrameKeySet(new HmacSha256(), key, 0), command, 0);
        radio.Hear(advert, BleAdvertisement.Write(command, 0, command.Length, false, advert, 0), -60);
    }

    // The app signs one frame per minute; every advertisement the run needs is built before measuring, so the
    // harness allocates nothing while it is measured.
    var escortAdverts = new Dictionary<uint, byte[]>();
    if (scenario.StartsWith("escort", StringComparison.Ordinal))
    {
        uint first = UnixMinute(clock.UtcNow);
        for (uint m = first; m <= first + 2 + ((5000 + 1000 + (long)iterations) * 20 / 60_000); m++)
        {
            byte[] frame = new byte[EscortFrame.Length];
            escortCodec.Encode(m, escortCodec.AirId(escortKeys, 0xBEEF), escortKeys, frame, 0);
            var data = new byte[BleAdvertisement.MaxLegacyDataLength];
            BleAdvertisement.Write(frame, 0, frame.Length, true, data, 0);
            escortAdverts[m] = data;
        }

        advertLength = 3 + 4 + EscortFrame.Length;
    }

    long tick = 0;
    void Tick()
    {
        clock.Ms += 20;
        if (escortAdverts.Count > 0 && clock.Ms % 1000 == 0)
        {
            radio.Hear(escortAdverts[UnixMinute(clock.UtcNow)], advertLength, -70);
        }

        light.Tick();
        tick++;
    }

    // Warm-up, and the escort or emergency is under way before measuring.
    for (int i = 0; i < 5000; i++)
    {
        Tick();
    }

    int beaconsBefore = radio.Advertised;
    double perTick = Measure(iterations, Tick);
    string mode = light.Mode == LightMode.Emergency ? "emergency" : light.Mode == LightMode.Escort ? "escort" : "schedule";
    Row("StreetlightController.Tick, " + scenario, perTick, (radio.Advertised - beaconsBefore).ToString(CultureInfo.InvariantCulture) + " beacons, mode " + mode + ", " + light.RejectedTotal + " rejects");
}

// The panic bell, connected and idle: heartbeats every 15 s, nothing else; in frame version 1 and 2 (protocol/README.md §10).
foreach (byte version in new byte[] { FrameCodec.CurrentVersion, FrameCodecV2.Version })
{
    var clock = new BenchClock(night);
    var pins = new BenchPins();
    var link = new BenchLink();
    var bell = new PanicBell(new BellConfig(0x00A1B2C3, key) { FrameVersion = version }, clock, pins, pins, new MemoryDeviceStorage(), link, new HmacSha256(), pins);
    void Tick()
    {
        clock.Ms += 10;
        bell.Tick();
    }

    for (int i = 0; i < 5000; i++)
    {
        Tick();
    }

    int before = link.Published;
    double perTick = Measure(iterations, Tick);
    int heartbeats = link.Published - before;
    Row("PanicBell.Tick, connected and idle (heartbeat every 15 s), frame version " + version, perTick, heartbeats + " heartbeats, " + (perTick * iterations / Math.Max(1, heartbeats)).ToString("F0", CultureInfo.InvariantCulture) + " B per heartbeat");
}

Console.WriteLine("allocations per operation, " + iterations.ToString("N0", CultureInfo.InvariantCulture) + " iterations each, .NET " + Environment.Version);
Console.WriteLine();
Console.WriteLine("| operation | bytes per operation | bytes in all " + iterations.ToString("N0", CultureInfo.InvariantCulture) + " | note |");
Console.WriteLine("| --- | ---: | ---: | --- |");
foreach ((string what, double bytes, string note) in rows)
{
    Console.WriteLine("| " + what + " | " + bytes.ToString("F3", CultureInfo.InvariantCulture) + " | "
        + (bytes * iterations).ToString("N0", CultureInfo.InvariantCulture) + " | " + note + " |");
}

return 0;

static double Measure(int iterations, Action action)
{
    for (int i = 0; i < 1000; i++)
    {
        action();
    }

    long before = GC.GetAllocatedBytesForCurrentThread();
    for (int i = 0; i < iterations; i++)
    {
        action();
    }

    return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)iterations;
}

/// <summary>Where measured results go so the JIT cannot drop the work, without boxing.</summary>
internal static class Sink
{
    public static long Value;
}
