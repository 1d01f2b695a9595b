using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// The district escort keys travel the whole way (protocol/README.md §10.1): the cloud bridge derives each district's key
/// of each rotation and sends the gateway, over real Mosquitto, the records of its lights' districts; the gateway seals
/// them as type-9 parts for each light into its BLE airspace; anshimi-sim's lights (given no key at installation) put
/// them together. The rotation is two minutes with a one-minute changeover, so the test sees one rotation happen.
/// </summary>
[Trait("Category", "EndToEnd")]
[Trait("Category", "Protocol")]
public sealed class EscortKeyDeliveryTests(ITestOutputHelper output)
{
    private const string JungGu = "11140";
    private const string Gwangjin = "11215";
    private const string AppClient = "anshimi-app-keys";

    private static readonly TimeSpan Period = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Changeover = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task After_a_rotation_the_lights_hold_their_own_districts_new_key_take_the_apps_new_frames_and_refuse_the_old_epoch()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        CancellationToken ct = cts.Token;
        byte[] escortKey = RandomNumberGenerator.GetBytes(32);
        string apiKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var options = new AnshimiSystemOptions { DeviceCount = 1, BleAirspace = true, EscortKey = escortKey };
        options.AppClients[AppClient] = apiKey;
        options.CloudEnvironment["Escorts__KeyRotationPeriod"] = "00:02:00";
        options.CloudEnvironment["Escorts__KeyChangeover"] = "00:01:00";
        options.CloudEnvironment["Escorts__KeyDeliveryCheck"] = "00:00:01";
        options.CloudEnvironment["Escorts__KeyResend"] = "00:00:05";

        // Two lights by Seoul City Hall (중구) and one by the 광진구 office, all served by the one gateway.
        options.ExtraDevices.Add(Light(0, JungGu, 37.5663, 126.9779));
        options.ExtraDevices.Add(Light(1, JungGu, 37.5663, 126.9782));
        options.ExtraDevices.Add(Light(2, Gwangjin, 37.5384, 127.0823));

        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        using var log = new StringWriter();
        using var app = new HttpClient { BaseAddress = system.CloudUri, Timeout = TimeSpan.FromSeconds(15) };
        app.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        var schedule = new EscortKeySchedule(escortKey, Period, Changeover);
        try
        {
            await using SimulatedFleet fleet = SimulatedFleet.Start(
                system.Fleet.Devices, system.Broker.Host, system.Broker.Port, Path.Combine(system.Directory, "devices"), TextWriter.Synchronized(log),
                Fleet.FastTimings, escortKey, airspace: system.Airspace);
            SimulatedLight[] lights = [.. fleet.Lights.OrderBy(l => l.Record.DeviceId, StringComparer.Ordinal)];
            Assert.Equal(3, lights.Length);
            Assert.All(lights, l => Assert.Equal(0, l.Light.Controller.EscortArea));

            // A new box: every light gets its own district's key of the rotation now delivered, and no other district's.
            await Fleet.Until(
                () => lights.All(l => l.Light.Controller.EscortEpoch == EscortKeySchedule.EpochOf(schedule.DeliveredRotation(Minute())) && l.Light.Controller.EscortArea != 0),
                TimeSpan.FromSeconds(90), "every light holds its district's key", ct);
            Assert.Equal([11140, 11140, 11215], lights.Select(l => (int)l.Light.Controller.EscortArea));

            // The next rotation starts: the cloud sends its records and the gateway delivers them; the lights keep the old key as previous.
            uint next = schedule.DeliveredRotation(Minute()) + 1;
            await Fleet.Until(
                () => lights.All(l => l.Light.Controller.EscortEpoch == EscortKeySchedule.EpochOf(next)),
                schedule.RotationStart(next) - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60), "every light holds rotation " + next + "'s key", ct);
            Assert.Equal([11140, 11140, 11215], lights.Select(l => (int)l.Light.Controller.EscortArea));
            Assert.All(lights, l => Assert.True(l.Light.Controller.EscortKeysInstalled >= 2, l.Record.DeviceId + " installed " + l.Light.Controller.EscortKeysInstalled));

            // Once the changeover has ended the cloud seals the app's frames under the new key: the light by City Hall takes them.
            TimeSpan toChangeoverEnd = DateTimeOffset.FromUnixTimeSeconds(schedule.ChangeoverEndMinute(next) * 60L) - DateTimeOffset.UtcNow;
            if (toChangeoverEnd > TimeSpan.Zero)
            {
                await Task.Delay(toChangeoverEnd + TimeSpan.FromSeconds(1), ct);
            }

            SimulatedLight cityHall = lights[0];
            string session = await StartEscortAsync(app, 37.5663, 126.9779, ct);
            JsonElement advertisement = await app.GetFromJsonAsync<JsonElement>($"api/app/v1/escorts/{session}/advertisement", ct);
            Assert.Equal(JungGu, advertisement.GetProperty("area").GetString());
            byte[] frame = Convert.FromHexString(advertisement.GetProperty("frame").GetString()!);
            Assert.Equal(EscortKeySchedule.EpochOf(next), EscortFrame.ReadEpoch(frame, 0));
            int accepted = cityHall.Light.Controller.EscortAdvertsAccepted;
            cityHall.PhoneAdvertises(Convert.FromHexString(advertisement.GetProperty("advertisement").GetString()!));
            await Fleet.Until(() => cityHall.Light.Controller.EscortAdvertsAccepted > accepted, TimeSpan.FromSeconds(20), "the light takes the app's new-epoch frame", ct);

            // A frame sealed under the previous rotation's key, for this very minute, is refused now the changeover is over.
            int staleEpoch = cityHall.Light.Controller.RejectedStaleEpoch;
            accepted = cityHall.Light.Controller.EscortAdvertsAccepted;
            cityHall.PhoneAdvertises(OldEpochAdvertisement(schedule, next - 1));
            await Fleet.Until(() => cityHall.Light.Controller.RejectedStaleEpoch > staleEpoch, TimeSpan.FromSeconds(20), "the light refuses the old epoch", ct);
            Assert.Equal(accepted, cityHall.Light.Controller.EscortAdvertsAccepted);
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
            output.WriteLine(system.Cloud.ReadLog());
        }
    }

    private static long Minute() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60;

    private static DeviceRecord Light(int index, string district, double lat, double lon) => new(
        DeviceIdText.Format(0x5A00_0200u + (uint)index),
        Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
        Convert.ToHexString(RandomNumberGenerator.GetBytes(18)).ToLowerInvariant(),
        StreetlightFleet.Profile,
        new SiteInfo(StreetlightFleet.Profile, lat, lon, string.Create(CultureInfo.InvariantCulture, $"서울특별시 보안등 {index + 1}")),
        district);

    private static async Task<string> StartEscortAsync(HttpClient app, double lat, double lon, CancellationToken ct)
    {
        var body = new { origin = new { lat, lon }, destination = new { lat, lon = lon + 0.001 } };
        using HttpResponseMessage started = await app.PostAsync("api/app/v1/escorts", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        return (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("sessionId").GetString()!;
    }

    /// <summary>What a recording of (or a key taken off a light in) the previous rotation yields for this minute.</summary>
    private static byte[] OldEpochAdvertisement(EscortKeySchedule schedule, uint rotation)
    {
        ushort area = ushort.Parse(JungGu, CultureInfo.InvariantCulture);
        var keys = new EscortKeySet(new PlatformHmacSha256(), area, EscortKeySchedule.EpochOf(rotation), schedule.AreaKey(area, rotation));
        var codec = new EscortFrame(new PlatformHmacSha256());
        uint minute = (uint)Minute();
        var frame = new byte[EscortFrame.Length];
        codec.Encode(minute, codec.AirId(keys, 0x1234), keys, frame, 0);
        var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(frame, 0, frame.Length, true, advertisement, 0);
        return advertisement[..length];
    }
}
