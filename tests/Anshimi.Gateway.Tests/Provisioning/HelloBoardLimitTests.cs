using System.Diagnostics.Metrics;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Provisioning;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Gateway.Tests.Provisioning;

[Trait("Category", "Privacy")]
public sealed class HelloBoardLimitTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeTimeProvider _time = GatewayHarness.NewClock();
    private readonly ProvisioningCodec _codec = new(new PlatformHmacSha256());
    private readonly Dictionary<string, long> _dropped = [];
    private readonly MeterListener _listener = new();

    public HelloBoardLimitTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only this test's meters: other tests' gateways count drops at the same time.
            if (instrument.Name == "anshimi.gateway.provisioning.dropped" && ReferenceEquals(instrument.Meter.Scope, _services.GetRequiredService<IMeterFactory>()))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string reason = (string)tags.ToArray().Single(t => t.Key == "reason").Value!;
            _dropped[reason] = _dropped.GetValueOrDefault(reason) + value;
        });
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }

    [Fact]
    public void A_listed_hello_is_refreshed_only_by_its_own_repeat_and_rivals_are_rate_limited_and_capped()
    {
        HelloBoard board = NewBoard(new ProvisioningOptions { MaxHellosPerDevice = 2, NewHelloInterval = TimeSpan.FromSeconds(5) });
        byte[] own = Hello(0x0000B001, "1.0.0");
        board.Post(Topics.ProvisioningHello(0x0000B001), own);

        _time.Advance(TimeSpan.FromSeconds(1));
        board.Post(Topics.ProvisioningHello(0x0000B001), Hello(0x0000B001, "6.6.6"));
        board.Post(Topics.ProvisioningHello(0x0000B001), own);
        Assert.Equal(own, board.Find(0x0000B001)!.Raw);
        Assert.Equal(_time.GetUtcNow(), board.Find(0x0000B001)!.HeardAt);
        Assert.Single(board.Candidates(0x0000B001));
        Assert.Equal(1, _dropped.GetValueOrDefault(ProvisioningMetrics.RateLimited));

        // After the interval one rival may stand beside it (a rebooted device looks the same), never in its place.
        _time.Advance(TimeSpan.FromSeconds(5));
        board.Post(Topics.ProvisioningHello(0x0000B001), Hello(0x0000B001, "6.6.7"));
        _time.Advance(TimeSpan.FromSeconds(5));
        board.Post(Topics.ProvisioningHello(0x0000B001), Hello(0x0000B001, "6.6.8"));
        Assert.Equal(own, board.Find(0x0000B001)!.Raw);
        Assert.Equal(["1.0.0", "6.6.7"], board.Candidates(0x0000B001).Select(c => c.Hello.FirmwareVersion));
        Assert.Equal(1, _dropped.GetValueOrDefault(ProvisioningMetrics.Conflict));

        // The listed hello's device stops repeating it: once it expires the place is free again.
        _time.Advance(new ProvisioningOptions().HelloLifetime);
        board.Post(Topics.ProvisioningHello(0x0000B001), Hello(0x0000B001, "2.0.0"));
        Assert.Equal("2.0.0", board.Find(0x0000B001)!.Hello.FirmwareVersion);
    }

    [Fact]
    public void A_full_board_keeps_the_devices_it_lists_and_counts_the_newcomers_it_drops()
    {
        HelloBoard board = NewBoard(new ProvisioningOptions { MaxUnclaimed = 2 });
        for (uint id = 0x0000B001; id <= 0x0000B005; id++)
        {
            board.Post(Topics.ProvisioningHello(id), Hello(id, "1.0.0"));
        }

        Assert.Equal([0x0000B001u, 0x0000B002u], board.Current().Select(s => s.Hello.DeviceId).Order());
        Assert.Equal(3, _dropped.GetValueOrDefault(ProvisioningMetrics.BoardFull));

        _time.Advance(new ProvisioningOptions().HelloLifetime + TimeSpan.FromSeconds(1));
        board.Post(Topics.ProvisioningHello(0x0000B006), Hello(0x0000B006, "1.0.0"));
        Assert.Equal([0x0000B006u], board.Current().Select(s => s.Hello.DeviceId));
    }

    private HelloBoard NewBoard(ProvisioningOptions options) =>
        new(new ProvisioningMetrics(_services.GetRequiredService<IMeterFactory>()), new RejectLog(NullLogger<RejectLog>.Instance, _time), Options.Create(options), _time);

    private byte[] Hello(uint id, string firmware) =>
        _codec.EncodeHello(new HelloMessage(id, System.Security.Cryptography.RandomNumberGenerator.GetBytes(ProvisioningCodec.NonceLength), new byte[ProvisioningCodec.PublicKeyLength], "home-panic", firmware), new byte[32]);
}
