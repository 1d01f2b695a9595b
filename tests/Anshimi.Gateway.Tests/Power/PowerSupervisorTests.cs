using System.Device.I2c;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Hosting;
using Anshimi.Gateway.Power;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Gateway.Tests.Power;

/// <summary>
/// The supervisor over the real Ina219 binding and the simulated chip, sending through the gateway's real trouble
/// outbox and store; a virtual clock drives the battery script and the debounce.
/// </summary>
public sealed class PowerSupervisorTests : IAsyncLifetime
{
    private static readonly TimeSpan MainsCut = TimeSpan.FromMinutes(1);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 3, 0, 0, TimeSpan.Zero));
    private readonly PowerOptions _options = new();
    private readonly RecordingPowerOff _powerOff = new();
    private GatewayHarness _gateway = null!;
    private SimulatedIna219 _chip = null!;
    private PowerSupervisor _supervisor = null!;

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync()
    {
        _supervisor?.Dispose();
        await _gateway.DisposeAsync();
    }

    [Fact]
    public async Task Mains_loss_is_a_301_trouble_upstream_once_it_has_held_and_its_return_a_301_restore()
    {
        Start(
            new BatteryPoint(TimeSpan.Zero, 8.30, 0.20),
            new BatteryPoint(MainsCut, 8.30, 0.20),
            new BatteryPoint(MainsCut, 8.05, -0.80),
            new BatteryPoint(MainsCut + TimeSpan.FromMinutes(10), 7.80, -0.80),
            new BatteryPoint(MainsCut + TimeSpan.FromMinutes(10), 8.10, 0.60));

        await RunAsync(MainsCut + _options.Debounce - _options.Interval);
        Assert.False(_supervisor.MainsLost);
        Assert.Empty(await PublishedTroublesAsync());

        await RunAsync(_options.Interval);
        Assert.True(_supervisor.MainsLost);
        TroubleEnvelope lost = Assert.Single(await PublishedTroublesAsync());
        Assert.Equal((ContactIdCode.AcLoss, ContactIdQualifier.NewEvent), (lost.Event.Code, lost.Event.Qualifier));
        Assert.Equal("00000000", lost.DeviceId);
        Assert.Equal(TroubleOutbox.GatewayProfile, lost.Profile);
        Assert.StartsWith(GatewayHarness.GatewayId + "/", lost.Key, StringComparison.Ordinal);
        Assert.True(_gateway.Get<DeviceHealthTracker>().Of(TroubleOutbox.GatewayDeviceId).MainsLost);

        await RunAsync(TimeSpan.FromMinutes(10) + _options.Debounce);
        Assert.False(_supervisor.MainsLost);
        TroubleEnvelope restored = Assert.Single(await PublishedTroublesAsync());
        Assert.Equal((ContactIdCode.AcLoss, ContactIdQualifier.Restore), (restored.Event.Code, restored.Event.Qualifier));
        Assert.Equal(0, _powerOff.Calls);
    }

    [Fact]
    public async Task A_dip_shorter_than_the_debounce_is_not_an_outage()
    {
        Start(
            new BatteryPoint(TimeSpan.Zero, 8.30, 0.20),
            new BatteryPoint(MainsCut, 8.30, 0.20),
            new BatteryPoint(MainsCut, 8.10, -0.90),
            new BatteryPoint(MainsCut + TimeSpan.FromSeconds(10), 8.10, -0.90),
            new BatteryPoint(MainsCut + TimeSpan.FromSeconds(10), 8.30, 0.40));

        await RunAsync(TimeSpan.FromMinutes(5));

        Assert.False(_supervisor.MainsLost);
        Assert.Empty(await PublishedTroublesAsync());
    }

    [Fact]
    public async Task A_falling_pack_is_a_302_low_battery_restored_only_above_the_restore_level()
    {
        Start(
            new BatteryPoint(TimeSpan.Zero, 7.30, -0.80),
            new BatteryPoint(TimeSpan.FromMinutes(10), 6.90, -0.80),
            new BatteryPoint(TimeSpan.FromMinutes(10), 7.20, 0.80),
            new BatteryPoint(TimeSpan.FromMinutes(20), 7.20, 0.80),
            new BatteryPoint(TimeSpan.FromMinutes(30), 7.60, 0.80));
        await RunAsync(TimeSpan.FromSeconds(30));
        await PublishedTroublesAsync();

        await RunAsync(TimeSpan.FromMinutes(10));
        TroubleEnvelope low = Assert.Single(await PublishedTroublesAsync(), t => t.Event.Code == ContactIdCode.LowBattery);
        Assert.Equal(ContactIdQualifier.NewEvent, low.Event.Qualifier);

        // Charging again at 7.2 V: above the low level but below the restore level, so still low.
        await RunAsync(TimeSpan.FromMinutes(10));
        Assert.True(_supervisor.LowBattery);
        Assert.DoesNotContain(await PublishedTroublesAsync(), t => t.Event.Code == ContactIdCode.LowBattery);

        await RunAsync(TimeSpan.FromMinutes(10) + _options.Debounce);
        TroubleEnvelope restored = Assert.Single(await PublishedTroublesAsync(), t => t.Event.Code == ContactIdCode.LowBattery);
        Assert.Equal(ContactIdQualifier.Restore, restored.Event.Qualifier);
    }

    [Fact]
    public async Task At_the_critical_voltage_the_stores_are_flushed_and_checkpointed_before_the_box_powers_off_once()
    {
        Start(
            new BatteryPoint(TimeSpan.Zero, 8.30, 0.20),
            new BatteryPoint(MainsCut, 8.30, 0.20),
            new BatteryPoint(MainsCut, 8.00, -1.00),
            new BatteryPoint(MainsCut + TimeSpan.FromMinutes(30), 6.40, -1.00));
        TestDevice bell = _gateway.Devices[0];
        await _gateway.Pipeline.HandleUplinkAsync(bell.UplinkTopic, bell.Heartbeat(5), CancellationToken.None);
        _gateway.Mqtt.RefusePublishes = true;
        _powerOff.OnPowerOff = () =>
        {
            // What is on disk at the moment the box goes off.
            _powerOff.StoredGatewayTroubles = _gateway.Count("SELECT count(*) FROM troubles WHERE device_id = 0");
            _powerOff.StoredShutdowns = _gateway.Count($"SELECT count(*) FROM troubles WHERE device_id = 0 AND code = {ContactIdCode.SystemShutdown}");
            _powerOff.BellLastSeen = _gateway.Count($"SELECT count(*) FROM devices WHERE id = {bell.Id} AND heartbeat_counter = 5");
            string wal = _gateway.DatabasePath + "-wal";
            _powerOff.WalBytes = File.Exists(wal) ? new FileInfo(wal).Length : 0;
        };

        await RunAsync(MainsCut + TimeSpan.FromMinutes(40));

        Assert.True(_supervisor.ShutdownStarted);
        Assert.Equal(1, _powerOff.Calls);
        Assert.Equal(1, _powerOff.StoredShutdowns);
        Assert.Equal(3, _powerOff.StoredGatewayTroubles);
        Assert.Equal(1, _powerOff.BellLastSeen);
        Assert.Equal(0, _powerOff.WalBytes);
        Assert.True(_supervisor.Last!.Value.Volts <= _options.CriticalVolts);
    }

    [Fact]
    public async Task A_sensor_that_stops_answering_is_a_330_trouble_of_its_own_and_its_return_a_restore()
    {
        Start(new BatteryPoint(TimeSpan.Zero, 8.30, 0.10));
        await RunAsync(_options.Interval);
        int resets = _chip.Writes.Count(w => w == (0x00, 0x8000));

        _chip.Unplugged = true;
        await RunAsync(_options.Interval * (_options.SensorFailures - 1));
        Assert.False(_supervisor.SensorTrouble);
        await RunAsync(_options.Interval * 3);
        Assert.True(_supervisor.SensorTrouble);
        TroubleEnvelope trouble = Assert.Single(await PublishedTroublesAsync());
        Assert.Equal((ContactIdCode.SystemPeripheralTrouble, ContactIdQualifier.NewEvent), (trouble.Event.Code, trouble.Event.Qualifier));

        _chip.Unplugged = false;
        await RunAsync(_options.Interval);
        Assert.False(_supervisor.SensorTrouble);
        TroubleEnvelope restored = Assert.Single(await PublishedTroublesAsync());
        Assert.Equal((ContactIdCode.SystemPeripheralTrouble, ContactIdQualifier.Restore), (restored.Event.Code, restored.Event.Qualifier));

        // The chip is set up again after the outage: it may have lost its calibration with its power.
        Assert.Equal(resets + 1, _chip.Writes.Count(w => w == (0x00, 0x8000)));
        Assert.Equal(8.30, _supervisor.Last!.Value.Volts, 0.004);
    }

    [Fact]
    public async Task The_hosted_loop_keeps_running_while_the_bus_cannot_even_be_opened()
    {
        int opens = 0;
        var battery = new UpsBattery(() => { Interlocked.Increment(ref opens); throw new IOException("/dev/i2c-1: No such file or directory"); }, _options);
        _supervisor = NewSupervisor(battery);

        await _supervisor.StartAsync(CancellationToken.None);
        await WaitUntilAsync(() => Volatile.Read(ref opens) >= 1);
        for (int round = 2; round <= 4; round++)
        {
            // One tick per round: the loop must have sampled before the clock moves again.
            _time.Advance(_options.Interval);
            await WaitUntilAsync(() => Volatile.Read(ref opens) >= round);
        }

        Assert.Equal(4, opens);
        Assert.False(_supervisor.ExecuteTask!.IsCompleted);
        Assert.True(_supervisor.SensorTrouble);
        await _supervisor.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task The_gateway_troubles_carry_the_box_site_so_the_cloud_routes_them_to_its_district()
    {
        var options = new GatewayOptions { Id = GatewayHarness.GatewayId, Site = new GatewaySite { Latitude = 37.5665, Longitude = 126.9780, Address = "서울특별시 중구 세종대로 110" } };
        var troubles = new TroubleOutbox(
            _gateway.Get<Anshimi.Mqtt.MqttSession>(), _gateway.Get<HealthStore>(), _gateway.Get<DeviceHealthTracker>(), _gateway.Get<RedeliveryPolicy>(), Options.Create(options),
            _gateway.Get<Anshimi.Gateway.Diagnostics.GatewayMetrics>(), _gateway.Time, NullLogger<TroubleOutbox>.Instance);

        troubles.Enqueue(TroubleOutbox.GatewayDeviceId, ContactIdCode.AcLoss, ContactIdQualifier.NewEvent);
        troubles.Enqueue(_gateway.Devices[0].Id, ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent);
        await troubles.PublishDueAsync(CancellationToken.None);
        TroubleEnvelope[] sent = [.. _gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic).Select(m => m.ParseEnvelope()).OfType<TroubleEnvelope>()];

        TroubleEnvelope box = Assert.Single(sent, t => t.DeviceId == "00000000");
        Assert.Equal(new SiteInfo(TroubleOutbox.GatewayProfile, 37.5665, 126.9780, "서울특별시 중구 세종대로 110"), box.Site);
        TroubleEnvelope bell = Assert.Single(sent, t => t.DeviceId != "00000000");
        Assert.NotEqual(box.Site, bell.Site);
    }

    [Fact]
    public void A_box_site_off_the_globe_is_refused_naming_the_field()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Id"] = "gw",
            ["Gateway:Site:Latitude"] = "137.5",
            ["Gateway:Site:Longitude"] = "126.9",
        }).Build();
        using ServiceProvider services = new ServiceCollection().AddGatewayOptions(configuration).BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<GatewayOptions>>().Value);

        Assert.Contains("Gateway:Site", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Sensor", "spi", "Power:Sensor")]
    [InlineData("Address", "16", "Power:Address")]
    [InlineData("CriticalVolts", "7.2", "Power:CriticalVolts")]
    [InlineData("ShuntOhms", "0", "Power:ShuntOhms")]
    [InlineData("SensorFailures", "0", "Power:SensorFailures")]
    [InlineData("ShutdownCommand", " ", "Power:ShutdownCommand")]
    public void Bad_power_configuration_is_refused_naming_the_field(string key, string value, string field)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Power:Sensor"] = "simulated",
            ["Power:" + key] = value,
        }).Build();
        using ServiceProvider services = new ServiceCollection().AddPowerSupervision(configuration).BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<PowerOptions>>().Value);

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_simulated_sensor_is_chosen_by_configuration_and_reads_a_charged_pack_on_mains()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Power:Sensor"] = "simulated" }).Build();
        using ServiceProvider services = new ServiceCollection().AddSingleton<TimeProvider>(_time).AddPowerSupervision(configuration).BuildServiceProvider();

        BatteryReading reading = services.GetRequiredService<UpsBattery>().Read();

        Assert.Equal(4096, services.GetRequiredService<IOptions<PowerOptions>>().Value.Calibration);
        Assert.True(reading.Volts > _options.LowBatteryRestoreVolts && reading.Amperes > -_options.MainsLostAmperes);
        Assert.DoesNotContain(new ServiceCollection().AddPowerSupervision(new ConfigurationBuilder().Build()), d => d.ServiceType == typeof(UpsBattery));
    }

    [Fact]
    public async Task The_gateway_wires_the_supervisor_when_a_sensor_is_configured()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Id"] = "gw-power",
            ["Gateway:DataDirectory"] = Path.Combine(_gateway.Directory, "wired"),
            ["Power:Sensor"] = "simulated",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<TimeProvider>(_time).AddSingleton<Anshimi.Mqtt.IMqttTransportFactory>(new FakeMqttClient());
        await using ServiceProvider provider = services.AddGateway(configuration).BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        Assert.Contains(provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>(), s => s is PowerSupervisor);
        Assert.IsType<PowerOffCommand>(provider.GetRequiredService<IPowerOff>());
    }

    private void Start(params BatteryPoint[] script)
    {
        _chip = new SimulatedIna219(new I2cConnectionSettings(_options.BusId, _options.Address), new ScriptedBattery(_time, script), _options.ShuntOhms);
        _supervisor = NewSupervisor(new UpsBattery(() => _chip, _options));
    }

    private PowerSupervisor NewSupervisor(UpsBattery battery)
    {
        TroubleOutbox troubles = _gateway.Get<TroubleOutbox>();
        var shutdown = new CleanShutdown(_gateway.Registry, troubles, _gateway.Get<GatewayDatabase>(), _powerOff, NullLogger<CleanShutdown>.Instance);
        return new PowerSupervisor(battery, troubles, _gateway.Get<DeviceHealthTracker>(), shutdown, Options.Create(_options), _time, NullLogger<PowerSupervisor>.Instance);
    }

    /// <summary>Samples once per interval for <paramref name="duration"/> of virtual time.</summary>
    private async Task RunAsync(TimeSpan duration)
    {
        for (TimeSpan t = TimeSpan.Zero; t < duration; t += _options.Interval)
        {
            _time.Advance(_options.Interval);
            await _supervisor.SampleAsync(CancellationToken.None);
        }
    }

    /// <summary>Lets the trouble outbox send what is due and returns the troubles it published since the last call.</summary>
    private async Task<IReadOnlyList<TroubleEnvelope>> PublishedTroublesAsync()
    {
        _gateway.Mqtt.Clear();
        await _gateway.Get<TroubleOutbox>().PublishDueAsync(CancellationToken.None);
        List<TroubleEnvelope> published = [.. _gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic).Select(m => m.ParseEnvelope()).OfType<TroubleEnvelope>()];
        foreach (TroubleEnvelope trouble in published)
        {
            await _gateway.Get<TroubleOutbox>().ApplyReceiptAsync(trouble.Key, CancellationToken.None);
        }

        return published;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 1500 && !condition(); i++)
        {
            await Task.Delay(10);
        }
    }

    private sealed class RecordingPowerOff : IPowerOff
    {
        public int Calls { get; private set; }

        public Action? OnPowerOff { get; set; }

        public long StoredGatewayTroubles { get; set; }

        public long StoredShutdowns { get; set; }

        public long BellLastSeen { get; set; }

        public long WalBytes { get; set; } = -1;

        public Task PowerOffAsync(CancellationToken cancellationToken)
        {
            Calls++;
            OnPowerOff?.Invoke();
            return Task.CompletedTask;
        }
    }
}
