using Anshimi.Ble.Simulation;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Ble.Tests.Simulation;

public sealed class SimulatedAirspaceTests
{
    private static readonly BleAddress Gateway = new(0x02A500000001);
    private static readonly BleAddress LightA = new(0x02A50000A001);
    private static readonly BleAddress LightB = new(0x02A50000A002);
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private static readonly DateTimeOffset Start = new(2026, 3, 4, 21, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task An_advertiser_transmits_when_started_and_then_once_per_interval_to_every_scanner_but_itself()
    {
        var clock = new FakeTimeProvider(Start);
        var air = new SimulatedAirspace(clock);
        SimulatedBleTransport gateway = air.Join(Gateway);
        SimulatedBleTransport a = air.Join(LightA, rssi: -71);
        SimulatedBleTransport b = air.Join(LightB);
        var heardByA = Record(a);
        var heardByB = Record(b);
        var heardByGateway = Record(gateway);
        await a.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);
        await gateway.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);
        DateTimeOffset start = clock.GetUtcNow();

        await gateway.SetAdvertisingAsync(new byte[] { 2, 1, 6 }, Interval, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        int sent = air.Pump();

        Assert.Equal(11, sent);
        Assert.Equal(11, heardByA.Count);
        Assert.Empty(heardByB); // not scanning
        Assert.Empty(heardByGateway); // never hears itself
        Assert.Equal(Enumerable.Range(0, 11).Select(i => start + i * Interval), heardByA.Select(r => r.ReceivedAt));
        Assert.All(heardByA, r => Assert.Equal(Gateway, r.Address));
        Assert.All(heardByA, r => Assert.Equal(new byte[] { 2, 1, 6 }, r.Data));

        await a.SetAdvertisingAsync(new byte[] { 2, 1, 5 }, Interval, CancellationToken.None);
        air.Pump();
        BleAdvertisementReport fromA = Assert.Single(heardByGateway);
        Assert.Equal(-71, fromA.Rssi);

        await gateway.ClearAdvertisingAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        air.Pump();
        Assert.Equal(11, heardByA.Count);
    }

    [Fact]
    public async Task Drop_first_makes_one_receiver_miss_the_first_transmissions_only()
    {
        var clock = new FakeTimeProvider(Start);
        var air = new SimulatedAirspace(clock);
        air.AddRule(AirspaceRule.DropFirst(3, from: Gateway, to: LightA));
        SimulatedBleTransport gateway = air.Join(Gateway);
        SimulatedBleTransport a = air.Join(LightA);
        SimulatedBleTransport b = air.Join(LightB);
        var heardByA = Record(a);
        var heardByB = Record(b);
        await a.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);
        await b.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);
        DateTimeOffset start = clock.GetUtcNow();

        await gateway.SetAdvertisingAsync(new byte[] { 2, 1, 6 }, Interval, CancellationToken.None);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        air.Pump();

        Assert.Equal(6, heardByB.Count);
        Assert.Equal(3, heardByA.Count);
        Assert.Equal(start + 3 * Interval, heardByA[0].ReceivedAt);
        Assert.Equal(3, air.Dropped);
    }

    [Fact]
    public async Task A_receiver_can_answer_inside_the_pump_and_is_heard_in_the_same_pump()
    {
        var clock = new FakeTimeProvider(Start);
        var air = new SimulatedAirspace(clock);
        SimulatedBleTransport gateway = air.Join(Gateway);
        SimulatedBleTransport a = air.Join(LightA);
        var heardByGateway = Record(gateway);
        a.AdvertisementReceived += (_, report) => a.SetAdvertisingAsync(new byte[] { 2, 1, 4 }, Interval, CancellationToken.None).GetAwaiter().GetResult();
        await a.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);
        await gateway.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);

        await gateway.SetAdvertisingAsync(new byte[] { 2, 1, 6 }, TimeSpan.FromSeconds(1), CancellationToken.None);
        air.Pump();

        BleAdvertisementReport answer = Assert.Single(heardByGateway);
        Assert.Equal(LightA, answer.Address);
    }

    [Fact]
    public async Task Seeded_random_loss_drops_the_same_advertisements_on_every_run()
    {
        List<DateTimeOffset> first = await RunWithRandomLossAsync(seed: 7);
        List<DateTimeOffset> second = await RunWithRandomLossAsync(seed: 7);
        List<DateTimeOffset> other = await RunWithRandomLossAsync(seed: 8);

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
        Assert.InRange(first.Count, 30, 70); // about half of 101
    }

    [Fact]
    public async Task A_closed_transport_leaves_the_air_and_refuses_to_advertise()
    {
        var air = new SimulatedAirspace(new FakeTimeProvider(Start));
        SimulatedBleTransport a = air.Join(LightA);

        await a.DisposeAsync();

        Assert.Equal(BleTransportState.Closed, a.State);
        await Assert.ThrowsAsync<BleTransportException>(() => a.SetAdvertisingAsync(new byte[] { 2, 1, 6 }, Interval, CancellationToken.None));
        Assert.NotNull(air.Join(LightA)); // the address is free again
    }

    [Fact]
    public async Task Advertising_outside_legacy_limits_is_refused()
    {
        var air = new SimulatedAirspace(new FakeTimeProvider(Start));
        SimulatedBleTransport a = air.Join(LightA);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => a.SetAdvertisingAsync(new byte[32], Interval, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => a.SetAdvertisingAsync(new byte[3], TimeSpan.FromMilliseconds(5), CancellationToken.None));
        Assert.Throws<ArgumentException>(() => air.Join(LightA));
    }

    private static async Task<List<DateTimeOffset>> RunWithRandomLossAsync(int seed)
    {
        var clock = new FakeTimeProvider(Start);
        var air = new SimulatedAirspace(clock);
        air.AddRule(AirspaceRule.DropRandom(0.5, seed));
        SimulatedBleTransport gateway = air.Join(Gateway);
        SimulatedBleTransport a = air.Join(LightA);
        var heard = Record(a);
        await a.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);
        await gateway.SetAdvertisingAsync(new byte[] { 2, 1, 6 }, Interval, CancellationToken.None);
        for (int i = 0; i < 10; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            air.Pump();
        }

        return [.. heard.Select(r => r.ReceivedAt)];
    }

    private static List<BleAdvertisementReport> Record(IBleTransport transport)
    {
        var heard = new List<BleAdvertisementReport>();
        transport.AdvertisementReceived += (_, report) => heard.Add(report);
        return heard;
    }
}
