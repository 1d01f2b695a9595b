using System.Device.Gpio;
using Anshimi.Gateway.Outputs;
using Anshimi.Gateway.Upstream;
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
    private readonly SimulatedGpioDriver _chip = new();
    private readonly GpioController _gpio;
    private readonly LocalOutputOptions _options = new() { Driver = LocalOutputOptions.SimulatedDriver, SirenLine = 17, StrobeLine = 27, StatusLedLine = 22, RelaysActiveLow = true };
    private GatewayHarness _gateway = null!;
    private LocalAlarmIndicator _indicator = null!;

    private TestDevice Bell => _gateway.Devices[0];

    public LocalAlarmIndicatorTests() => _gpio = new GpioController(_chip);

    private SimulatedGpioDriver.SimulatedLine Siren => _chip.Line(17)!;

    private SimulatedGpioDriver.SimulatedLine Strobe => _chip.Line(27)!;

    private SimulatedGpioDriver.SimulatedLine StatusLed => _chip.Line(22)!;

    // The siren and strobe relays switch on a low level; the LED is wired active-high.
    private static bool On(SimulatedGpioDriver.SimulatedLine relay) => !relay.High;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayHarness.StartAsync();
        _indicator = new LocalAlarmIndicator(_gpio, _gateway.Store, _gateway.Get<MqttSession>(), _gateway.Get<CloudLinkStatus>(), Options.Create(_options), _gateway.Time, NullLogger<LocalAlarmIndicator>.Instance);
        await _indicator.StartAsync(CancellationToken.None);

        // The service's first refresh runs on the thread pool; let it land (the LED lights for the connected
        // session) so it cannot flip a blink phase a test is counting. Later ones wait for the virtual clock.
        for (var deadline = DateTime.UtcNow.AddSeconds(10); !StatusLed.High; await Task.Delay(10))
        {
            Assert.True(DateTime.UtcNow < deadline, "the indicator's first refresh never ran");
        }
    }

    public async Task DisposeAsync()
    {
        await _indicator.StopAsync(CancellationToken.None);
        _indicator.Dispose();
        _gpio.Dispose();
        await _gateway.DisposeAsync();
    }

    [Fact]
    public async Task A_panic_sounds_the_siren_for_its_limit_and_flashes_the_strobe_until_an_operator_acknowledges()
    {
        await _indicator.RefreshAsync(CancellationToken.None);
        Assert.False(On(Siren));
        Assert.False(On(Strobe));

        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(1), CancellationToken.None);
        await _indicator.RefreshAsync(CancellationToken.None);
        Assert.True(On(Siren));
        Assert.True(On(Strobe));

        _gateway.Time.Advance(_options.SirenMaxDuration);
        await _indicator.RefreshAsync(CancellationToken.None);
        Assert.False(On(Siren));
        Assert.True(On(Strobe));

        await _gateway.Commands.HandleAsync(
            EnvelopeSerializer.Serialize(new OperatorAckEnvelope("0000A1B2:1", AckStageName.Acknowledged, "op-1", _gateway.Time.GetUtcNow())), CancellationToken.None);
        await _indicator.RefreshAsync(CancellationToken.None);
        Assert.False(On(Strobe));
        Assert.Equal([true, false, true], Siren.Changes);
    }

    [Theory]
    [InlineData(ContactIdCode.SilentPanic)]
    [InlineData(ContactIdCode.Duress)]
    public async Task Silent_panic_and_duress_never_show_on_the_box(ushort code)
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(1, code), CancellationToken.None);

        await _indicator.RefreshAsync(CancellationToken.None);

        Assert.DoesNotContain(false, Siren.Changes);
        Assert.DoesNotContain(false, Strobe.Changes);
    }

    [Fact]
    public async Task The_status_led_is_steady_while_the_broker_session_is_up_and_blinks_while_it_is_down()
    {
        for (int i = 0; i < 3; i++)
        {
            await _indicator.RefreshAsync(CancellationToken.None);
            Assert.True(StatusLed.High);
        }

        _gateway.Mqtt.SetState(MqttConnectionState.Reconnecting, "broker gone");
        var levels = new List<bool>();
        for (int i = 0; i < 4; i++)
        {
            await _indicator.RefreshAsync(CancellationToken.None);
            levels.Add(StatusLed.High);
        }

        Assert.Equal(2, levels.Count(l => l));
        Assert.NotEqual(levels[0], levels[1]);
    }

    [Fact]
    public void Relay_lines_open_as_outputs_at_their_idle_level_before_anything_is_driven()
    {
        Assert.All([Siren, Strobe, StatusLed], line => Assert.Equal(PinMode.Output, line.Mode));
        Assert.False(On(Siren) || On(Strobe));
        Assert.Equal([true], Siren.Changes);
    }

    [Fact]
    public async Task Stopping_the_service_releases_every_line_at_its_idle_level()
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(1), CancellationToken.None);
        await _indicator.RefreshAsync(CancellationToken.None);
        Assert.True(On(Siren));

        await _indicator.StopAsync(CancellationToken.None);

        Assert.False(Siren.IsOpen || Strobe.IsOpen || StatusLed.IsOpen);
        Assert.False(On(Siren));
        Assert.False(On(Strobe));
        Assert.False(StatusLed.High);
    }

    [Fact]
    public async Task A_line_already_in_use_is_refused_at_start_naming_the_line()
    {
        // A second controller over the same chip, as a second process would be.
        var other = new GpioController(_chip);
        var second = new LocalAlarmIndicator(other, _gateway.Store, _gateway.Get<MqttSession>(), _gateway.Get<CloudLinkStatus>(), Options.Create(_options), _gateway.Time, NullLogger<LocalAlarmIndicator>.Instance);

        GpioException error = await Assert.ThrowsAsync<GpioException>(() => second.StartAsync(CancellationToken.None));

        Assert.Contains("line 17", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_line_the_chip_does_not_have_is_refused_at_start_naming_the_line()
    {
        using var chip = new GpioController(new SimulatedGpioDriver());
        LocalOutputOptions options = new() { Driver = LocalOutputOptions.SimulatedDriver, SirenLine = 58 };
        var indicator = new LocalAlarmIndicator(chip, _gateway.Store, _gateway.Get<MqttSession>(), _gateway.Get<CloudLinkStatus>(), Options.Create(options), _gateway.Time, NullLogger<LocalAlarmIndicator>.Instance);

        GpioException error = await Assert.ThrowsAsync<GpioException>(() => indicator.StartAsync(CancellationToken.None));

        Assert.Contains("line 58", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Libgpiod_names_the_chip_it_cannot_open()
    {
        // This machine has no /dev/gpiochip7 (and may lack libgpiod): either way the error names the chip.
        GpioException error = Assert.Throws<GpioException>(() => OutputsServiceCollectionExtensions.OpenChip(new LocalOutputOptions { Driver = LocalOutputOptions.LibgpiodDriver, Chip = 7 }));
        Assert.Contains("gpiochip7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_simulated_driver_is_chosen_by_configuration_and_none_registers_no_chip()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Outputs:Driver"] = "simulated",
            ["Gateway:Outputs:SirenLine"] = "5",
        }).Build();
        using ServiceProvider services = new ServiceCollection().AddLocalOutputs(configuration).BuildServiceProvider();

        Assert.Equal(SimulatedGpioDriver.RaspberryPi4Lines, services.GetRequiredService<GpioController>().PinCount);
        Assert.DoesNotContain(new ServiceCollection().AddLocalOutputs(new ConfigurationBuilder().Build()), d => d.ServiceType == typeof(GpioController));
    }

    [Theory]
    [InlineData("SirenEvents:0", "122", "Gateway:Outputs:SirenEvents")]
    [InlineData("StrobeEvents:0", "121", "Gateway:Outputs:StrobeEvents")]
    [InlineData("StrobeLine", "17", "Gateway:Outputs:StrobeLine")]
    [InlineData("Driver", "spi", "Gateway:Outputs:Driver")]
    [InlineData("SirenEvents:0", "1000", "Gateway:Outputs:SirenEvents")]
    [InlineData("Chip", "-1", "Gateway:Outputs:Chip")]
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
