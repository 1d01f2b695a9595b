using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Anshimi.Ble.Simulation;

namespace Anshimi.Ble.Tests.Simulation;

[Trait("Category", "Integration")]
public sealed class AirspaceHubTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void The_datagram_layout_is_magic_version_kind_address_rssi_length_data()
    {
        var datagram = AirspaceDatagram.Advertisement(new BleAddress(0x02A50000A001), -60, Convert.FromHexString("05FFFFFF0A0B"));

        byte[] bytes = datagram.Encode();

        Assert.Equal(Convert.FromHexString("4153" + "01" + "02" + "02A50000A001" + "C4" + "06" + "05FFFFFF0A0B"), bytes);
        AirspaceDatagram decoded = Assert.IsType<AirspaceDatagram>(AirspaceDatagram.TryDecode(bytes));
        Assert.Equal(-60, decoded.Rssi);
        Assert.Equal(datagram.Data, decoded.Data);
        Assert.Equal(Convert.FromHexString("4153" + "01" + "01" + "02A50000A001" + "01" + "00"), AirspaceDatagram.Hello(new BleAddress(0x02A50000A001), scanning: true).Encode());
    }

    [Theory]
    [InlineData("")]
    [InlineData("4153010202A50000A001C406")] // length 6, no data
    [InlineData("4154010202A50000A001C400")] // wrong magic
    [InlineData("4153020202A50000A001C400")] // version 2
    [InlineData("4153010402A50000A001C400")] // kind 4
    [InlineData("4153010102A50000A0010101AA")] // a hello with data
    public void Malformed_datagrams_are_not_decoded(string hex)
    {
        Assert.Null(AirspaceDatagram.TryDecode(Convert.FromHexString(hex)));
    }

    [Fact]
    public async Task The_hub_forwards_advertisements_between_processes_sockets_to_scanners_only()
    {
        await using AirspaceHub hub = AirspaceHub.Start(new IPEndPoint(IPAddress.Loopback, 0), TimeProvider.System);
        await using var gateway = new UdpAirspaceTransport(hub.EndPoint, new BleAddress(1), TimeProvider.System);
        await using var light = new UdpAirspaceTransport(hub.EndPoint, new BleAddress(2), TimeProvider.System, rssi: -55);
        await using var idle = new UdpAirspaceTransport(hub.EndPoint, new BleAddress(3), TimeProvider.System);
        var heardByGateway = new ConcurrentQueue<BleAdvertisementReport>();
        var heardByIdle = new ConcurrentQueue<BleAdvertisementReport>();
        gateway.AdvertisementReceived += (_, r) => heardByGateway.Enqueue(r);
        idle.AdvertisementReceived += (_, r) => heardByIdle.Enqueue(r);
        await gateway.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);
        await WaitForAsync(() => hub.ParticipantCount == 3);

        byte[] beacon = Convert.FromHexString("020106" + "05FFFFFF0A0B");
        await light.SetAdvertisingAsync(beacon, TimeSpan.FromMilliseconds(50), CancellationToken.None);
        await WaitForAsync(() => heardByGateway.Count >= 3);

        Assert.All(heardByGateway, r => Assert.Equal(new BleAddress(2), r.Address));
        Assert.All(heardByGateway, r => Assert.Equal(beacon, r.Data));
        Assert.All(heardByGateway, r => Assert.Equal(-55, r.Rssi));
        Assert.Empty(heardByIdle);

        // Garbage sent at the hub is counted and changes nothing.
        using (var stranger = new UdpClient(AddressFamily.InterNetwork))
        {
            await stranger.SendAsync(new byte[] { 1, 2, 3 }, hub.EndPoint);
        }

        await WaitForAsync(() => hub.Malformed == 1);
        Assert.Equal(3, hub.ParticipantCount);

        await light.ClearAdvertisingAsync(CancellationToken.None);
        await light.DisposeAsync();
        await WaitForAsync(() => hub.ParticipantCount == 2);
    }

    [Fact]
    public async Task The_hub_applies_loss_rules()
    {
        await using AirspaceHub hub = AirspaceHub.Start(new IPEndPoint(IPAddress.Loopback, 0), TimeProvider.System);
        hub.AddRule(AirspaceRule.DropAll(from: new BleAddress(2)));
        await using var gateway = new UdpAirspaceTransport(hub.EndPoint, new BleAddress(1), TimeProvider.System);
        await using var deaf = new UdpAirspaceTransport(hub.EndPoint, new BleAddress(2), TimeProvider.System);
        await using var heard = new UdpAirspaceTransport(hub.EndPoint, new BleAddress(3), TimeProvider.System);
        var reports = new ConcurrentQueue<BleAdvertisementReport>();
        gateway.AdvertisementReceived += (_, r) => reports.Enqueue(r);
        await gateway.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);
        await WaitForAsync(() => hub.ParticipantCount == 3);

        await deaf.SetAdvertisingAsync(new byte[] { 2, 1, 6 }, TimeSpan.FromMilliseconds(50), CancellationToken.None);
        await heard.SetAdvertisingAsync(new byte[] { 2, 1, 5 }, TimeSpan.FromMilliseconds(50), CancellationToken.None);
        await WaitForAsync(() => reports.Count >= 3 && hub.Dropped >= 3);

        Assert.All(reports, r => Assert.Equal(new BleAddress(3), r.Address));
    }

    [Fact]
    public void A_hub_that_cannot_bind_says_where()
    {
        using var taken = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var endPoint = (IPEndPoint)taken.Client.LocalEndPoint!;

        var error = Assert.Throws<BleTransportException>(() => AirspaceHub.Start(endPoint, TimeProvider.System));

        Assert.Contains(endPoint.ToString(), error.Message, StringComparison.Ordinal);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
