using System.Text.RegularExpressions;
using Anshimi.DeviceSim;
using Anshimi.Firmware;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>Forged, replayed and malformed uplinks from a peer holding real broker credentials.</summary>
[Trait("Category", "EndToEnd")]
public sealed partial class BadInputTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Forged_replayed_and_malformed_frames_are_rejected_counted_and_never_reach_the_console()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        CancellationToken ct = cts.Token;
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(new AnshimiSystemOptions { DeviceCount = 2 }, ct);
        try
        {
            DeviceRecord device = system.Fleet.Devices[0];
            DeviceRecord other = system.Fleet.Devices[1];
            // The simulated bells speak version 2 (protocol/README.md §10), so the frames here are sealed as theirs are.
            var codec = new FrameCodecV2(new PlatformHmacSha256());
            var keys = new FrameKeySet(new PlatformHmacSha256(), device.Key, 0);
            byte[] genuine = codec.Encode(Frame.Alarm(device.NumericId, 5000, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), keys);
            byte[] older = codec.Encode(Frame.Alarm(device.NumericId, 5000 - AlarmWindow.Size - 1, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), keys);
            byte[] forged = codec.Encode(Frame.Alarm(device.NumericId, 6000, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), keys);
            forged[^1] ^= 0x01;
            byte[] foreign = codec.Encode(Frame.Alarm(other.NumericId, 7000, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), new FrameKeySet(new PlatformHmacSha256(), other.Key, 0));

            await PublishAsync(system, device, genuine, ct);
            await Fleet.Until(async () => (await system.CloudAlarmsAsync(ct)).Length == 1, TimeSpan.FromSeconds(30), "the genuine alarm in the cloud", ct);

            await PublishAsync(system, device, genuine, ct); // a resend: acked again, stored once
            await PublishAsync(system, device, older, ct); // never stored and older than the alarm window: replay
            await PublishAsync(system, device, forged, ct); // its tag altered
            await PublishAsync(system, device, foreign, ct); // another device's frame on this device's topic
            await PublishAsync(system, device, genuine[..^1], ct); // truncated
            var random = new Random(5);
            for (int i = 0; i < 20; i++)
            {
                byte[] junk = new byte[random.Next(0, 64)];
                random.NextBytes(junk);
                await PublishAsync(system, device, junk, ct);
            }

            await Fleet.Until(async () =>
            {
                string metrics = await system.Http.GetStringAsync(new Uri(system.GatewayUri, "metrics"), ct);
                return Rejected(metrics, "bad_tag") >= 1 && Rejected(metrics, "replayed") >= 1 && Rejected(metrics, "topic_mismatch") >= 1
                    && Prometheus.Value(metrics, "anshimi_gateway_alarms_received_total{outcome=\"duplicate\"}") >= 1 && RejectedAll(metrics) >= 24;
            }, TimeSpan.FromSeconds(30), "every bad frame counted by reason", ct);

            output.WriteLine(await system.Http.GetStringAsync(new Uri(system.GatewayUri, "metrics"), ct));
            Assert.True(system.Gateway.IsRunning);
            Assert.Single(await system.CloudAlarmsAsync(ct));

            // The gateway still serves real bells afterwards.
            using var log = new StringWriter();
            await using SimulatedFleet fleet = await Fleet.StartAsync(system, log, ct);
            fleet.Devices[1].Button.Press(400);
            await Fleet.Until(() => fleet.Devices[1].Bell.LedState == LedState.ReceivedByGateway, TimeSpan.FromSeconds(30), "a real alarm after the bad input", ct);
            Assert.Equal(2, (await system.CloudAlarmsAsync(ct)).Length);
        }
        finally
        {
            output.WriteLine(system.Gateway.ReadLog());
        }
    }

    private static async Task PublishAsync(AnshimiSystem system, DeviceRecord device, byte[] payload, CancellationToken ct)
    {
        // mosquitto_pub is an independent peer: the frame bytes go to the broker exactly as given.
        string file = Path.Combine(system.Directory, "payload.bin");
        await File.WriteAllBytesAsync(file, payload, ct);
        var args = new List<string>(system.Broker.CliArguments(device.DeviceId)) { "-q", "1", "-t", Topics.DeviceUplink(device.NumericId), "-f", file };
        if (payload.Length == 0)
        {
            args.RemoveRange(args.Count - 2, 2);
            args.Add("-n");
        }

        ProcessResult result = await ProcessRunner.RunAsync("mosquitto_pub", args, TimeSpan.FromSeconds(20), ct);
        Assert.True(result.ExitCode == 0, "mosquitto_pub failed: " + result.StandardError);
    }

    private static double Rejected(string metrics, string reason) =>
        RejectedLines().Matches(metrics).Where(m => m.Groups["reason"].Value == reason).Sum(m => double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture));

    private static double RejectedAll(string metrics) =>
        RejectedLines().Matches(metrics).Sum(m => double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex("^anshimi_gateway_frames_rejected\\w*\\{[^}]*reason=\"(?<reason>[a-z_]+)\"[^}]*\\} (?<value>[0-9.e+]+)$", RegexOptions.Multiline)]
    private static partial Regex RejectedLines();
}
