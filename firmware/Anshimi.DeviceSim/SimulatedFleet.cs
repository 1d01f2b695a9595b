using System.Security.Cryptography;
using Anshimi.Firmware;
using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Doorbell;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>
/// One bell of the fleet with its profile's simulated parts (buttons, LED, lid switch, battery ADC, voice
/// module on a UART, BLE radio on the fleet's in-process air, watchdog, deep sleep) and, for Wi-Fi
/// profiles, its own broker session. A battery bell that goes to deep sleep is stopped and, like the chip,
/// started afresh from its flash when its timer, button or lid switch wakes it. Its flash is the device's own adapters
/// on its state directory, on a simulated power supply (<see cref="Power"/>) a test can cut at any flash write.
/// </summary>
public sealed class SimulatedDevice : IAsyncDisposable
{
    private readonly string _statePath;
    private readonly ISchedulingClock _clock;
    private readonly Action<Exception> _onError;
    private readonly Action<BellConfig>? _configure;
    private readonly BellBoard _board;
    private readonly SimulatedBleRadio _radio;
    private readonly AirspaceLink? _airspace;
    private readonly SimulatedWatchdog _watchdog;
    private readonly Lock _gate = new();
    private readonly SimulatedFirmwareOptions? _firmware;
    private BellHost _host;
    private DeviceUpdates? _updates;
    private int _sleepGeneration;

    /// <param name="airspace">The gateway's BLE airspace hub, where the bell's radio is heard too; null for this process's air only.</param>
    /// <param name="firmware">With it, a Wi-Fi bell runs the loader and its two slots on its simulated flash and takes updates.</param>
    public SimulatedDevice(DeviceRecord record, string stateRoot, ISchedulingClock clock, MqttLink? link, SimulatedBleAir air, Action<Exception> onError, Action<BellConfig>? configure = null, System.Net.IPEndPoint? airspace = null, SimulatedFirmwareOptions? firmware = null)
    {
        if (!BellProfiles.IsKnown(record.Profile))
        {
            throw new FormatException("device " + record.DeviceId + ": unknown bell profile '" + record.Profile + "' (home, shop, voice or battery)");
        }

        Record = record;
        Link = link;
        _clock = clock;
        _onError = onError;
        _configure = configure;
        _board = BellBoard.ForProfile(record.Profile);
        _statePath = Path.Combine(stateRoot, record.DeviceId);
        Button = new SimulatedButton(clock);
        AuxButton = new SimulatedButton(clock);
        Led = new SimulatedLed(clock);
        _radio = air.CreateRadio(record.DeviceId);
        _airspace = airspace is null ? null : AirspaceLink.Join(_radio, airspace, line => onError(new IOException(line)));
        BellConfig config = Config();
        _watchdog = new SimulatedWatchdog(clock, config.WatchdogTimeoutMs);
        _watchdog.Expired += OnWatchdogExpired;
        _firmware = link is null ? null : firmware;
        _host = Boot(WakeCause.PowerOn);
    }

    public DeviceRecord Record { get; }

    /// <summary>The bell's power supply: a cut planned on it stops the chip at that flash write until <see cref="PowerCycle"/>.</summary>
    public PowerCut Power { get; } = new();

    /// <summary>The bell's loader and update client, when it runs them.</summary>
    public DeviceUpdates? Updates
    {
        get
        {
            lock (_gate)
            {
                return _updates;
            }
        }
    }

    /// <summary>The broker session; null for a BLE-only battery bell.</summary>
    public MqttLink? Link { get; }

    public SimulatedButton Button { get; }

    public SimulatedButton AuxButton { get; }

    public SimulatedLed Led { get; }

    public SimulatedContact Tamper { get; } = new();

    public SimulatedContact Mains { get; } = new(active: true);

    /// <summary>Battery ADC, as a fraction of full scale.</summary>
    public SimulatedAnalogInput Battery { get; } = new(1.0);

    public SimulatedUartPort Uart { get; } = new();

    public bool HasVoice => _board.VoiceRx != BellBoard.None;

    public bool HasMainsSense => _board.MainsSense != BellBoard.None;

    public bool HasBattery => _board.BatterySense != BellBoard.None;

    public bool HasTamper => _board.Tamper != BellBoard.None;

    public PanicBell Bell
    {
        get
        {
            lock (_gate)
            {
                return _host.Bell;
            }
        }
    }

    public void Start()
    {
        Link?.Start();
        lock (_gate)
        {
            _host.Start();
            _updates?.Start();
        }
    }

    /// <summary>The power goes away, unless a planned cut already took it, and comes back: the chip starts again from what its flash holds.</summary>
    public void PowerCycle()
    {
        Power.Restore();
        Restart(WakeCause.PowerOn);
    }

    /// <summary>Presses the panic button; a sleeping battery bell wakes on it.</summary>
    public void Press(int holdMs)
    {
        Button.Press(holdMs);
        WakeIfAsleep(WakeCause.Button);
    }

    /// <summary>The voice module reports a recognised command word on its UART.</summary>
    public void Speak(byte commandId) => Uart.Inject(Df2301qFrame.AsrResult(commandId, commandId));

    public void SetTamper(bool open)
    {
        Tamper.IsActive = open;
        WakeIfAsleep(WakeCause.Tamper);
    }

    /// <summary>Sets the battery reading to <paramref name="percent"/> of the configured empty-to-full range.</summary>
    public void SetBattery(int percent)
    {
        BellConfig config = Config();
        int raw = config.BatteryEmptyRaw + (int)((long)(config.BatteryFullRaw - config.BatteryEmptyRaw) * Math.Clamp(percent, 0, 100) / 100);
        Battery.Value = (double)raw / TroubleMonitor.BatteryFullScaleRaw;
    }

    public BellStatus Status(string? districtName)
    {
        PanicBell bell = Bell;
        return new BellStatus(
            bell.Asleep,
            bell.Troubles.TamperOpen,
            bell.Troubles.MainsLost,
            bell.Troubles.BatteryLow,
            bell.Troubles.BatteryPercent < 0 ? null : bell.Troubles.BatteryPercent,
            _radio.AdvertisementsStarted)
        {
            Id = Record.DeviceId,
            Profile = Record.Profile,
            District = districtName is null ? Record.DistrictCode : districtName + " (" + Record.DistrictCode + ")",
            Address = Record.Site.Address,
            Connected = Link?.IsConnected ?? false,
            Led = LedStateName.Of(bell.LedState),
            PendingAlarms = bell.PendingAlarmCount,
            AlarmsRaised = bell.AlarmsRaised,
            NewestAlarmCounter = bell.NewestAlarmCounter,
            RejectedDownlinks = bell.Downlinks.RejectedForged + bell.Downlinks.RejectedReplayed + bell.Downlinks.RejectedMalformed + bell.Downlinks.DroppedDownlinks,
            LastError = Link?.LastError,
            Firmware = Updates?.Status,
        };
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _sleepGeneration++;
            _host.Dispose();
            _updates?.Dispose();
        }

        _radio.Dispose();
        if (_airspace is not null)
        {
            await _airspace.DisposeAsync();
        }

        if (Link is not null)
        {
            await Link.DisposeAsync();
        }
    }

    private BellConfig Config()
    {
        BellConfig config = BellProfiles.For(Record.Profile, Record.NumericId, Record.Key);
        _configure?.Invoke(config);
        return config;
    }

    private BellHost Boot(WakeCause wakeCause)
    {
        var sleep = new SimulatedSleepController(wakeCause, _clock.MonotonicMs);
        int generation = _sleepGeneration;
        sleep.SleepRequested += durationMs => _clock.Schedule(_clock.MonotonicMs + durationMs, () => Wake(generation, WakeCause.Timer));
        var peripherals = new BellPeripherals
        {
            AuxButton = _board.AuxPanic == BellBoard.None ? null : AuxButton,
            Tamper = HasTamper ? Tamper : null,
            Mains = HasMainsSense ? Mains : null,
            Battery = HasBattery ? Battery : null,
            Voice = HasVoice ? new Df2301qVoiceModule(Uart) : null,
            Radio = _radio,
            Watchdog = _watchdog,
            Sleep = sleep,
        };
        var storage = new PowerCutFlash(_statePath, Power);
        var bell = new PanicBell(Config(), _clock, Button, Led, storage, Link, new PlatformHmacSha256(), new SeededRandom(), peripherals);
        byte[]? factoryRelease = _firmware?.FactoryReleaseFor(DeviceUpdates.BoardOf(Record.Profile), Record.Profile);
        _updates = _firmware is null || factoryRelease is null || Link is null
            ? null
            : new DeviceUpdates(Record, _statePath, Link, _clock, _firmware, factoryRelease, () => bell.PendingAlarmCount > 0, () => Restart(WakeCause.PowerOn), _onError, Power);
        return new BellHost(bell, onError: _onError, power: Power);
    }

    private void WakeIfAsleep(WakeCause cause)
    {
        int generation;
        lock (_gate)
        {
            if (!_host.Bell.Asleep)
            {
                return;
            }

            generation = _sleepGeneration;
        }

        Wake(generation, cause);
    }

    private void Wake(int generation, WakeCause cause)
    {
        lock (_gate)
        {
            // A wake meant for an earlier sleep (the button came first) changes nothing.
            if (generation != _sleepGeneration || !_host.Bell.Asleep)
            {
                return;
            }
        }

        Restart(cause);
    }

    // A chip in deep sleep runs no watchdog; only a loop that stopped while awake restarts the device.
    private void OnWatchdogExpired()
    {
        if (!Bell.Asleep)
        {
            Restart(WakeCause.PowerOn);
        }
    }

    /// <summary>The chip starts again: a new bell on the same flash, pins and radio.</summary>
    private void Restart(WakeCause cause)
    {
        lock (_gate)
        {
            // A chip without power neither wakes nor resets: only PowerCycle starts it again.
            if (Power.IsOff)
            {
                return;
            }

            _sleepGeneration++;
            _host.Dispose();
            _updates?.Dispose();
            try
            {
                _host = Boot(cause);
                _host.Start();
                _updates?.Start();
            }
            catch (PowerCutException)
            {
                // The power went while the chip booted (the loader's trial count, say): it stays off.
            }
        }

        // The chip's restart starts the watchdog's count afresh.
        _watchdog.Feed();
    }
}

/// <summary>
/// Every device of a fleet file on the host HAL: bells and doorbells against a real broker, streetlights on the
/// in-process BLE air; with the gateway's airspace hub, bells' and streetlights' radios are heard by the gateway too.
/// </summary>
public sealed class SimulatedFleet : IAsyncDisposable
{
    private readonly Dictionary<string, SimulatedDevice> _devices;
    private readonly Dictionary<string, SimulatedLight> _lights;

    private SimulatedFleet(IReadOnlyList<SimulatedDevice> devices, IReadOnlyList<SimulatedDoorbell> doorbells, IReadOnlyList<SimulatedLight> lights, SimulatedBleAir air)
    {
        Devices = devices;
        Doorbells = doorbells;
        Air = air;
        Lights = lights;
        _devices = devices.ToDictionary(d => d.Record.DeviceId, StringComparer.OrdinalIgnoreCase);
        _lights = lights.ToDictionary(l => l.Record.DeviceId, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The bells (MQTT devices).</summary>
    public IReadOnlyList<SimulatedDevice> Devices { get; }

    /// <summary>The bells' BLE air, in this process only: battery bells and Wi-Fi bells without a broker advertise here.</summary>
    public SimulatedBleAir Air { get; }

    /// <summary>The fleet's devices with profile "doorbell".</summary>
    public IReadOnlyList<SimulatedDoorbell> Doorbells { get; }

    /// <summary>The streetlights (profile "streetlight", BLE only).</summary>
    public IReadOnlyList<SimulatedLight> Lights { get; }

    /// <param name="configure">Adjusts each bell's configuration (e.g. shorter timings in tests) before it starts.</param>
    /// <param name="configureDoorbell">The same for each doorbell.</param>
    /// <param name="escortKey">The cloud's escort master secret, from which each streetlight's district key is derived (protocol §10.1); a random one when not given (then only this simulator's walkers are recognised).</param>
    /// <param name="airspace">The gateway's BLE airspace hub the streetlights join; null keeps them on this process's air only.</param>
    /// <param name="firmware">The loaders' keys and factory images: Wi-Fi bells, doorbells and streetlights whose board a factory release fits run the loader; null: no device runs it.</param>
    public static SimulatedFleet Start(IEnumerable<DeviceRecord> records, string host, int port, string stateRoot, TextWriter log, Action<BellConfig>? configure = null, byte[]? escortKey = null, Action<DoorbellConfig>? configureDoorbell = null, System.Net.IPEndPoint? airspace = null, SimulatedFirmwareOptions? firmware = null)
    {
        var clock = new SystemClock();
        var air = new SimulatedBleAir(clock);
        Action<string> mqttDiagnostics = message => Report(log, "mqtt: " + message);
        var devices = new List<SimulatedDevice>();
        var lightRecords = new List<DeviceRecord>();
        var doorbells = new List<SimulatedDoorbell>();
        foreach (DeviceRecord record in records.Where(r => r.Profile == SimulatedDoorbell.Profile))
        {
            var link = new MqttLink(MqttSession.Create(MqttLink.OptionsFor(record, host, port), mqttDiagnostics), record.NumericId);
            var doorbell = new SimulatedDoorbell(record, stateRoot, clock, link, ex => Report(log, "[" + record.DeviceId + "] 오류 error: " + ex.Message), configureDoorbell, firmware);
            doorbell.Parts.Led.Changed += (_, change) => Report(log, "[" + record.DeviceId + "] LED " + SimJson.LedLabel(LedStateName.Of(change.State)));
            doorbells.Add(doorbell);
        }

        foreach (DeviceRecord record in records.Where(r => r.Profile != SimulatedDoorbell.Profile))
        {
            if (record.Profile == StreetlightFleet.Profile)
            {
                lightRecords.Add(record);
                continue;
            }

            MqttLink? link = BellBoard.ForProfile(BellProfiles.IsKnown(record.Profile) ? record.Profile : BellProfiles.Home).HasWifi
                ? new MqttLink(MqttSession.Create(MqttLink.OptionsFor(record, host, port), mqttDiagnostics), record.NumericId)
                : null;
            var device = new SimulatedDevice(record, stateRoot, clock, link, air, ex => Report(log, "[" + record.DeviceId + "] 오류 error: " + ex.Message), configure, airspace, firmware);
            device.Led.Changed += (_, change) => Report(log, "[" + record.DeviceId + "] LED " + SimJson.LedLabel(LedStateName.Of(change.State)));
            devices.Add(device);
        }

        List<SimulatedLight> lights = StreetlightFleet.Create(lightRecords, clock, stateRoot, escortKey ?? RandomNumberGenerator.GetBytes(32), line => Report(log, line), airspace, firmware);
        foreach (SimulatedDevice device in devices)
        {
            device.Start();
        }

        foreach (SimulatedLight light in lights)
        {
            light.Start();
        }

        foreach (SimulatedDoorbell doorbell in doorbells)
        {
            doorbell.Start();
        }

        return new SimulatedFleet(devices, doorbells, lights, air);
    }

    public SimulatedDevice? Find(string id) => _devices.GetValueOrDefault(id);

    /// <summary>Device threads may report after their owner has closed the log while stopping; such lines are dropped.</summary>
    private static void Report(TextWriter log, string line)
    {
        try
        {
            log.WriteLine(line);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public SimulatedDoorbell? FindDoorbell(string id) => Doorbells.FirstOrDefault(d => string.Equals(d.Record.DeviceId, id, StringComparison.OrdinalIgnoreCase));

    public SimulatedLight? FindLight(string id) => _lights.GetValueOrDefault(id);

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Devices.Select(d => d.DisposeAsync().AsTask()).Concat(Doorbells.Select(d => d.DisposeAsync().AsTask())).Concat(Lights.Select(l => l.DisposeAsync().AsTask())));
    }
}
