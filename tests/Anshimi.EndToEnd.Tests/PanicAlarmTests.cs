using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Firmware;
using Anshimi.Firmware.Hal;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

[Trait("Category", "EndToEnd")]
public sealed class PanicAlarmTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_press_reaches_the_operator_with_its_district_and_the_acknowledgement_reaches_the_bell()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        CancellationToken ct = cts.Token;
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(new AnshimiSystemOptions { DeviceCount = 3 }, ct);
        using var log = new StringWriter();
        try
        {
            await using SimulatedFleet fleet = await Fleet.StartAsync(system, log, ct);
            SimulatedDevice bell = fleet.Devices[1];

            bell.Button.Press(400);

            JsonElement alarm = await Fleet.CloudAlarmOfAsync(system, bell.Record.DeviceId, TimeSpan.FromSeconds(30), ct);

            Assert.Equal(120, alarm.GetProperty("event").GetProperty("code").GetInt32());
            Assert.Equal(bell.Record.DistrictCode, alarm.GetProperty("district").GetProperty("code").GetString());
            Assert.Equal("open", alarm.GetProperty("state").GetString());
            await Fleet.Until(() => bell.Bell.LedState == LedState.ReceivedByGateway, TimeSpan.FromSeconds(15), "LED: received by gateway", ct);

            string key = alarm.GetProperty("key").GetString()!;
            using HttpResponseMessage ack = await system.Http.PostAsync(new Uri(system.CloudUri, "api/alarms/" + key + "/ack"), null, ct);
            Assert.True(ack.IsSuccessStatusCode, await ack.Content.ReadAsStringAsync(ct));

            await Fleet.Until(() => bell.Bell.LedState == LedState.Acknowledged, TimeSpan.FromSeconds(30), "LED: acknowledged by operator", ct);
            Assert.All(fleet.Devices.Where(d => d != bell), other => Assert.Equal(LedState.Idle, other.Bell.LedState));
            Assert.Single(await system.CloudAlarmsAsync(ct));
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
            output.WriteLine(system.Cloud.ReadLog());
        }
    }

    [Fact]
    public async Task A_battery_bells_BLE_alarm_burst_reaches_the_operator_through_the_gateways_radio()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        CancellationToken ct = cts.Token;
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(new AnshimiSystemOptions { DeviceCount = 2, Profiles = ["battery"], BleAirspace = true }, ct);
        using var log = new StringWriter();
        try
        {
            await using SimulatedFleet fleet = await Fleet.StartAsync(system, log, ct);
            SimulatedDevice bell = fleet.Devices[0];
            Assert.Null(bell.Link);

            // No broker session at all: the alarm exists only as signed BLE advertisements in the gateway's airspace.
            bell.Press(400);

            JsonElement alarm = await Fleet.CloudAlarmOfAsync(system, bell.Record.DeviceId, TimeSpan.FromSeconds(30), ct);

            Assert.Equal(120, alarm.GetProperty("event").GetProperty("code").GetInt32());
            Assert.Equal(bell.Record.DistrictCode, alarm.GetProperty("district").GetProperty("code").GetString());
            Assert.Single(await system.CloudAlarmsAsync(ct));
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
            output.WriteLine(system.Cloud.ReadLog());
        }
    }
}
