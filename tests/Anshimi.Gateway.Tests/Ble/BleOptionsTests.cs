using Anshimi.Gateway.Ble;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests.Ble;

public sealed class BleOptionsTests
{
    [Fact]
    public void Defaults_switch_ble_off_and_configuration_chooses_the_radio()
    {
        using ServiceProvider defaults = Build([]);
        Assert.Equal(BleTransportKind.None, defaults.GetRequiredService<IOptions<BleOptions>>().Value.Transport);

        using ServiceProvider configured = Build(new()
        {
            ["Gateway:Ble:Transport"] = "Airspace",
            ["Gateway:Ble:AirspaceEndpoint"] = "127.0.0.1:19999",
            ["Gateway:Ble:Dwell"] = "00:00:01",
        });
        BleOptions options = configured.GetRequiredService<IOptions<BleOptions>>().Value;
        Assert.Equal(BleTransportKind.Airspace, options.Transport);
        Assert.Equal(19999, options.AirspaceIPEndPoint.Port);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Dwell);
    }

    [Theory]
    [InlineData("Gateway:Ble:Adapter", "wlan0", "Hci")]
    [InlineData("Gateway:Ble:ScanInterval", "00:00:00.001", "Hci")]
    [InlineData("Gateway:Ble:ScanWindow", "00:00:00.200", "Hci")]
    [InlineData("Gateway:Ble:AdvertisingInterval", "00:00:11", "None")]
    [InlineData("Gateway:Ble:Dwell", "00:00:00.150", "None")]
    [InlineData("Gateway:Ble:AckAirTime", "00:00:00", "None")]
    [InlineData("Gateway:Ble:QueueCapacity", "0", "None")]
    [InlineData("Gateway:Ble:AirspaceEndpoint", "localhost", "Airspace")]
    [InlineData("Gateway:Ble:AirspaceAddress", "02:A5:00", "Airspace")]
    public void Bad_settings_are_refused_naming_the_key(string key, string value, string transport)
    {
        using ServiceProvider services = Build(new() { ["Gateway:Ble:Transport"] = transport, [key] = value });

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<BleOptions>>().Value);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_transport_is_refused_naming_the_key()
    {
        using ServiceProvider services = Build(new() { ["Gateway:Ble:Transport"] = "Bluetooth" });

        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IOptions<BleOptions>>().Value);
        Assert.Contains("Gateway:Ble:Transport", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddGatewayBle(configuration).BuildServiceProvider();
    }
}
