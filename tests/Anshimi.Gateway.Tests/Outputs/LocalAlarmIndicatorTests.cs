using Anshimi.Gateway.Outputs;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests.Outputs;

public sealed class LocalAlarmIndicatorTests : IAsyncLifetime
{
    private const string Chip = "gpiochip0";

    private readonly SimulatedGpioOutputs _gpio = new();
    private readonly LocalOutputOptions _options = new() { Driver = LocalOutputOptions.SimulatedDriver, SirenLine = 17, StrobeLine = 27, StatusLedLine = 22 };
    private GatewayHarness _gateway = null!;
    private LocalAlarmIndicator _indicator = null!;

    private TestDevice Bell => _gateway.Devices[0];

    private SimulatedGpioOutputs.SimulatedLine Siren => _gpio.Line(Chip, 17)!;

    private SimulatedGpioOutputs.SimulatedLine Strobe => _gpio.Line(Chip, 27)!;

    private SimulatedGpioOutputs.SimulatedLine StatusLed => _gpio.Line(Chip, 22)!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayHarness.StartAsync();
        _indicator = new LocalAlarmIndicator(_gpio, _gateway.Store, _gateway.Get<MqttSession>(), Options.Create(_options), _gateway.Time, NullLogger<LocalAlarmIndicator>.Instance);
        await _indicator.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _indicator.StopAsync(CancellationToken.None);
        _indicator.Dispose();
        await _gateway.DisposeAsync();
    }

    [Fact]
    public async Task A_panic_sounds_the_siren_for_its_limit_and_flashes_the_strobe_until_an_operator_acknowledges()
    {
        await _indicator.RefreshAsync(CancellationToken.None);
        Assert.False(Siren.Active);
        Assert.False(Strobe.Active);

        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(1), CancellationToken.None);
        await _indicator.RefreshAsync(CancellationToken.None);
        Assert.True(Siren.Active);
        Assert.True(Strobe.Active);

        _gateway.Time.Advance(_options.SirenMaxDuration);
        await _indicator.RefreshAsync(CancellationToken.None);
        Assert.False(Siren.Active);
        Assert.True(Strobe.Active);

        await _gateway.Commands.HandleAsync(
            EnvelopeSerializer.Serialize(new OperatorAckEnvelope("0000A1B2:1", AckStageName.Acknowledged, "op-1", _gateway.Time.GetUtcNow())), CancellationToken.None);
        await _indicator.RefreshAsync(CancellationToken.None);
        Assert.False(Strobe.Active);
        Assert.Equal([true, false], Siren.Changes);
    }

    [Theory]
    [InlineData(ContactIdCode.SilentPanic)]
    [InlineData(ContactIdCode.Duress)]
    public async Task Silent_panic_and_duress_never_show_on_the_box(ushort code)
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(1, code), CancellationToken.None);

        await _indicator.RefreshAsync(CancellationToken.None);

        Assert.Empty(Siren.Changes);
        Assert.Empty(Strobe.Changes);
    }

    [Fact]
    public async Task The_status_led_is_steady_while_the_broker_session_is_up_and_blinks_while_it_is_down()
    {
        for (int i = 0; i < 3; i++)
        {
            await _indicator.RefreshAsync(CancellationToken.None);
            Assert.True(StatusLed.Active);
        }

        _gateway.Mqtt.SetState(MqttConnectionState.Reconnecting, "broker gone");
        var levels = new List<bool>();
        for (int i = 0; i < 4; i++)
        {
            await _indicator.RefreshAsync(CancellationToken.None);
            levels.Add(StatusLed.Active);
        }

        Assert.Equal(2, levels.Count(l => l));
        Assert.NotEqual(levels[0], levels[1]);
    }

    [Fact]
    public async Task Stopping_the_service_releases_every_line_at_its_idle_level()
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(1), CancellationToken.None);
        await _indicator.RefreshAsync(CancellationToken.None);

        await _indicator.StopAsync(CancellationToken.None);

        Assert.True(Siren.Released && Strobe.Released && StatusLed.Released);
        Assert.False(Siren.Active);
    }

    [Fact]
    public void A_line_already_in_use_is_refused_with_a_clear_error()
    {
        GpioException error = Assert.Throws<GpioException>(() => _gpio.Open(Chip, 17, false, "other"));
        Assert.Contains("17", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Libgpiod_names_the_chip_it_cannot_open()
    {
        GpioException error = Assert.Throws<GpioException>(() => new LibgpiodOutputs().Open("gpiochip-missing", 4, false, "test"));
        Assert.Contains("gpiochip-missing", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SirenEvents:0", "122", "Gateway:Outputs:SirenEvents")]
    [InlineData("StrobeEvents:0", "121", "Gateway:Outputs:StrobeEvents")]
    [InlineData("StrobeLine", "17", "Gateway:Outputs:StrobeLine")]
    [InlineData("Driver", "spi", "Gateway:Outputs:Driver")]
    [InlineData("SirenEvents:0", "1000", "Gateway:Outputs:SirenEvents")]
    public void Bad_output_configuration_is_refused_naming_the_field(string key, string value, string field)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Outputs:Driver"] = "simulated",
            ["Gateway:Outputs:SirenLine"] = "17",
            ["Gateway:Outputs:" + key] = value,
        }).Build();
        using ServiceProvider services = new ServiceCollection().AddLocalOutputs(configuration).BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<LocalOutputOptions>>().Value);

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }
}
