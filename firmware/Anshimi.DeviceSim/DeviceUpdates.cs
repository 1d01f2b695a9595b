using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>What the simulated devices' loaders trust and the images they leave the factory with, one per board.</summary>
public sealed class SimulatedFirmwareOptions
{
    /// <summary>Release public keys compiled into the loader.</summary>
    public required IReadOnlyList<byte[]> TrustedKeys { get; init; }

    /// <summary>
    /// Release files, each put into slot a of a factory-fresh device whose board and profile it fits (as the factory's USB
    /// deploy would); the first that fits wins. A device that none fits runs without the loader.
    /// </summary>
    public required IReadOnlyList<byte[]> FactoryReleases { get; init; }

    /// <summary>The update client's timeouts (shorter in tests).</summary>
    public UpdateClientSettings Settings { get; init; } = new();

    /// <summary>A streetlight's carousel receiver's timings (shorter in tests).</summary>
    public CarouselReceiverSettings Carousel { get; init; } = new();

    /// <summary>The factory release for a device of <paramref name="board"/> and <paramref name="profile"/>, or null when none fits.</summary>
    public byte[]? FactoryReleaseFor(string board, string profile)
    {
        foreach (byte[] release in FactoryReleases)
        {
            ReleaseFile? file = ReleaseFile.Read(release);
            if (file is not null && ReleaseManifest.Read(file.ManifestBytes) is { } manifest && manifest.FitsBoard(board) && manifest.FitsKind(profile))
            {
                return release;
            }
        }

        return null;
    }

    /// <summary>
    /// From <c>anshimi-sim run --factory-release --release-key</c> (both repeatable): null without a release. Every release's
    /// signature must check against one of the keys (each 64 hex digits or a <c>.pub</c> file) as the loader checks it, so
    /// a device never leaves the factory with an image its own loader refuses.
    /// </summary>
    public static SimulatedFirmwareOptions? FromFiles(IReadOnlyList<string> releasePaths, IReadOnlyList<string> keys)
    {
        ArgumentNullException.ThrowIfNull(releasePaths);
        ArgumentNullException.ThrowIfNull(keys);
        if (releasePaths.Count == 0)
        {
            return keys.Count == 0 ? null : throw new FormatException("--release-key needs --factory-release");
        }

        var trusted = new List<byte[]>();
        foreach (string given in keys)
        {
            string hex = File.Exists(given) ? File.ReadAllText(given).Trim() : given;
            if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            {
                throw new FormatException("--release-key is 64 hex digits or a .pub file: " + given);
            }

            trusted.Add(Convert.FromHexString(hex));
        }

        if (trusted.Count == 0)
        {
            throw new FormatException("--factory-release needs at least one --release-key");
        }

        var releases = new List<byte[]>();
        var loaderKeys = new ReleaseKeys([.. trusted]);
        foreach (string releasePath in releasePaths)
        {
            byte[] release = File.ReadAllBytes(releasePath);
            ReleaseFile? file = ReleaseFile.Read(release);
            ReleaseManifest? manifest = file is null ? null : ReleaseManifest.Read(file.ManifestBytes);
            byte refusal = file is null ? UpdateReason.BadManifest : loaderKeys.Check(manifest, file.ManifestBytes, file.Signature);
            if (refusal != UpdateReason.None)
            {
                throw new FormatException("--factory-release " + releasePath + " is refused by the loader: " + UpdateReason.NameOf(refusal));
            }

            releases.Add(release);
        }

        return new SimulatedFirmwareOptions { TrustedKeys = trusted, FactoryReleases = releases };
    }
}

/// <summary>
/// One simulated Wi-Fi bell's or doorbell's loader and update client on its simulated flash (its state directory): the
/// device's own <see cref="LoaderBoot"/> and <see cref="ApplicationUpdates"/> over <see cref="MqttUpdateLink"/>, on
/// <see cref="FlashFiles"/> and <see cref="FlashStorage"/> on the device's simulated power, with only the start of the
/// slot's image simulated (<see cref="SimulatedApplicationStarter"/>). Messages on the device's update topic are queued
/// from the network thread and handled on the update loop; a restart the client asks for restarts the whole device.
/// </summary>
public sealed class DeviceUpdates : IDisposable, IUpdateHold
{
    private const long DriveBytes = 4L * 1024 * 1024;
    private const int PublishTimeoutMs = 5000;

    private readonly Func<bool> _holds;
    private readonly Action _restart;
    private readonly DeviceLoop _loop;
    private readonly SimulatedApplicationStarter _starter = new();
    private readonly MqttUpdateLink _link;
    private readonly ApplicationUpdates _updates;
    private bool _restarting;

    /// <param name="factoryRelease">What the factory put in slot a, when the device's flash holds no release yet.</param>
    /// <param name="power">The device's simulated power: a cut stops the loader and the client at that flash write.</param>
    /// <exception cref="PowerCutException">The power went away while the loader booted.</exception>
    public DeviceUpdates(DeviceRecord record, string statePath, MqttLink link, IClock clock, SimulatedFirmwareOptions options, byte[] factoryRelease, Func<bool> holds, Action restart, Action<Exception> onError, PowerCut power)
    {
        _holds = holds;
        _restart = restart;
        var records = new PowerCutFlash(statePath, power);
        var files = new PowerCutFiles(new FlashFiles(statePath, DriveBytes), power);
        var keys = new ReleaseKeys([.. options.TrustedKeys]);
        if (SimulatedLoader.IsFactoryFresh(files, records))
        {
            SimulatedLoader.InstallFactory(factoryRelease, files, records);
        }

        var loader = new LoaderBoot(records, files, keys, _starter);
        Boot = SimulatedLoader.Boot(loader);
        Board = BoardOf(record.Profile);
        _link = new MqttUpdateLink(link, record.NumericId, PublishTimeoutMs);
        _updates = new ApplicationUpdates(
            SilentImageLink.For(_starter, Boot, _link), Boot, loader.Loader, keys, files, records, clock, this, Board, record.Profile, options.Settings);
        _link.DeliverTo(_updates);
        _loop = new DeviceLoop("ota-" + record.DeviceId, Tick, 20, onError, power);
    }

    public BootResult Boot { get; }

    public string Board { get; }

    public SimulatedImageBehaviour Behaviour => _starter.Behaviour;

    /// <summary>The running version and the client's state, for the control API.</summary>
    public FirmwareStatus Status => FirmwareStatus.Of(Boot, _updates.Client);

    public bool HoldsUpdate => _holds();

    public void Start() => _loop.Start();

    public void Dispose()
    {
        _link.StopDelivering();
        _loop.Dispose();
    }

    /// <summary>The <c>hardware/</c> board of a bell or doorbell profile (protocol/README.md §11.1).</summary>
    public static string BoardOf(string profile) => profile switch
    {
        "voice" => "voice-bell",
        "battery" => "battery-bell",
        SimulatedDoorbell.Profile => "doorbell",
        _ => "home-bell",
    };

    private void Tick()
    {
        if (_restarting)
        {
            return;
        }

        _updates.Tick();
        if (_updates.RestartRequested)
        {
            _restarting = true;

            // The restart disposes this loop: not from its own thread.
            ThreadPool.QueueUserWorkItem(_ => _restart());
        }
    }
}
