using Anshimi.Ble;
using Anshimi.Gateway.Ble;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests.Ble;

public sealed class BleRadioTests
{
    [Fact]
    public async Task A_missing_adapter_is_a_clear_error_and_leaves_the_gateway_without_a_radio()
    {
        var hci = new BleOptions { Transport = BleTransportKind.Hci, Adapter = "hci97" };
        await using GatewayHarness gateway = await GatewayHarness.StartAsync(
            GatewayHarness.CreateDirectory(),
            new FakeMqttClient(),
            GatewayHarness.NewClock(),
            [new TestDevice(0x0000A1B2, 1)],
            services => services.AddSingleton<IBleTransportFactory>(new ConfiguredBleTransportFactory(Options.Create(hci), TimeProvider.System)));
        BleRadio radio = gateway.Get<BleRadio>();

        var error = await Assert.ThrowsAsync<BleTransportException>(() => radio.OpenAsync(CancellationToken.None));

        Assert.Contains("'hci97' not found", error.Message, StringComparison.Ordinal);
        Assert.Null(radio.Transport);
        Assert.Equal(0, gateway.Metric("anshimi_gateway_ble_up"));
    }

    [Fact]
    public async Task With_ble_switched_off_no_radio_is_opened_and_stepping_is_harmless()
    {
        await using GatewayHarness gateway = await GatewayHarness.StartAsync();
        BleRadio radio = gateway.Get<BleRadio>();

        Assert.False(await radio.OpenAsync(CancellationToken.None));
        await radio.StepAsync(CancellationToken.None);
        Assert.Null(radio.Transport);
        Assert.Equal(0, gateway.Metric("anshimi_gateway_ble_up"));
    }
}
