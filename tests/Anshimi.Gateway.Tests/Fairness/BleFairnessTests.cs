using Anshimi.Ble;
using Anshimi.Ble.Simulation;
using Anshimi.Gateway.Ble;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Tests.Ble;

namespace Anshimi.Gateway.Tests.Fairness;

[Trait("Category", "Privacy")]
public sealed class BleFairnessTests : IAsyncLifetime
{
    private BleGateway _gateway = null!;

    public async Task InitializeAsync() => _gateway = await BleGateway.StartAsync(lights: 0, radio: o =>
    {
        o.QueueCapacity = 64;
        o.DeviceBudget = 8;
    });

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Radios_flooding_the_air_with_one_devices_frames_cannot_crowd_out_a_battery_bells_alarm()
    {
        // Forty radios repeating distinct signed alarms of one device, every 20 ms: far more than the queue holds.
        var flood = new List<SimulatedBleTransport>();
        for (uint i = 0; i < 40; i++)
        {
            SimulatedBleTransport radio = await _gateway.JoinAsync(new BleAddress(0x02A5000F0000UL + i));
            await radio.SetAdvertisingAsync(BleGateway.Advertisement(_gateway.Bell.Alarm(100 + i)), TimeSpan.FromMilliseconds(20), CancellationToken.None);
            flood.Add(radio);
        }

        // Heard last in every slice, as a quiet device far from the gateway would be.
        SimulatedBleTransport batteryBell = await _gateway.JoinAsync(BleGateway.AddressOf(_gateway.BatteryBell));
        await batteryBell.SetAdvertisingAsync(BleGateway.Advertisement(_gateway.BatteryBell.Alarm(9)), TimeSpan.FromMilliseconds(100), CancellationToken.None);

        _gateway.Harness.Time.Advance(BleGateway.Slice);
        int sent = _gateway.Air.Pump();
        await batteryBell.ClearAdvertisingAsync(CancellationToken.None);
        await _gateway.Radio.ProcessPendingAsync(CancellationToken.None);

        Assert.True(sent > 64, "the flood must exceed the queue: " + sent);
        Assert.Equal(1, _gateway.Harness.Count("SELECT count(*) FROM alarms WHERE device_id = " + _gateway.BatteryBell.Id));
        Assert.Equal(1, _gateway.Metric(BleIngestion.Alarm) - _gateway.Harness.Count("SELECT count(*) FROM alarms WHERE device_id = " + _gateway.Bell.Id));
        Assert.True(_gateway.Metric(AlarmPipeline.DeviceBudget) > 0);
        Assert.Equal(sent, _gateway.Metric(AlarmPipeline.DeviceBudget) + _gateway.Metric(BleIngestion.Alarm) + _gateway.Metric(BleRadio.QueueFull) + RepeatsAndOthers());
    }

    private long RepeatsAndOthers() =>
        _gateway.Metric(BleIngestion.Repeat) + _gateway.Metric(BleIngestion.Duplicate) + _gateway.Metric(BleIngestion.Foreign);
}
