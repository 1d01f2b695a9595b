using System.Diagnostics;
using System.Globalization;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Bench;

/// <summary>
/// What resolving a version-2 BLE frame costs a gateway (protocol/README.md §10): its id is tried against each device's
/// uplink id key — one HMAC-SHA256 each — until one matches, the way <c>UplinkAuthenticator.TryResolve</c> walks the
/// registry. Measured for the last device (all keys tried) and on average over frames of every device.
/// </summary>
public sealed class ResolveBenchmark(int[] deviceCounts, int frames)
{
    public int Run()
    {
        var codec = new FrameCodecV2(new PlatformHmacSha256());
        Console.WriteLine("| devices | HMACs per frame, mean | µs per frame, mean | µs per frame, last device | µs per HMAC |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: |");
        foreach (int devices in deviceCounts)
        {
            byte[][] idKeys = new byte[devices][];
            byte[][] sealedFrames = new byte[devices][];
            for (int d = 0; d < devices; d++)
            {
                byte[] frameKey = new byte[32];
                BitConverter.TryWriteBytes(frameKey, d + 1);
                var keys = new FrameKeySet(new PlatformHmacSha256(), frameKey, 0);
                idKeys[d] = keys.IdKey(FrameDirectionBit.Uplink);
                sealedFrames[d] = codec.Encode(new Frame(FrameType.Heartbeat, (uint)d, 7, 0, 0, 0, [0x00, 90]), keys);
            }

            var random = new Random(1);
            long tried = 0;
            var clock = Stopwatch.StartNew();
            for (int f = 0; f < frames; f++)
            {
                tried += Resolve(codec, idKeys, sealedFrames[random.Next(devices)]);
            }

            double meanUs = clock.Elapsed.TotalMicroseconds / frames;
            int lastFrames = Math.Max(1, frames / 10);
            clock.Restart();
            for (int f = 0; f < lastFrames; f++)
            {
                Resolve(codec, idKeys, sealedFrames[devices - 1]);
            }

            double lastUs = clock.Elapsed.TotalMicroseconds / lastFrames;
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "| {0:N0} | {1:F1} | {2:F1} | {3:F1} | {4:F2} |", devices, (double)tried / frames, meanUs, lastUs, lastUs / devices));
        }

        return 0;
    }

    private static int Resolve(FrameCodecV2 codec, byte[][] idKeys, byte[] frame)
    {
        for (int d = 0; d < idKeys.Length; d++)
        {
            if (codec.ResolveEpoch(frame, 0, idKeys[d]) >= 0)
            {
                return d + 1;
            }
        }

        return idKeys.Length;
    }
}
