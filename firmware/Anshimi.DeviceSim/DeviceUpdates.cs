using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>What the simulated bells' loaders trust and the image they leave the factory with.</summary>
public sealed class SimulatedFirmwareOptions
{
    /// <summary>Release public keys compiled into the loader.</summary>
    public required IReadOnlyList<byte[]> TrustedKeys { get; init; }

    /// <summary>A release file put into slot a of a factory-fresh bell (as the factory's USB deploy would).</summary>
    public required byte[] FactoryRelease { get; init; }

    /// <summary>The update client's timeouts (shorter in tests).</summary>
    public UpdateClientSettings Settings { get; init; } = new();

    /// <summary>
    /// From <c>anshimi-sim run --factory-release --release-key</c>: null without a release. The release's signature must
    /// check against one of the keys (each 64 hex digits or a <c>.pub</c> file) as the loader checks it, so a bell never
    /// leaves the factory with an image its own loader refuses.
    /// </summary>
    public static SimulatedFirmwareOptions? FromFiles(string? releasePath, IReadOnlyList<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (releasePath is null)
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

        byte[] release = File.ReadAllBytes(releasePath);
        ReleaseFile? file = ReleaseFile.Read(release);
        ReleaseManifest? manifest = file is null ? null : ReleaseManifest.Read(file.ManifestBytes);
        byte refusal = file is null ? UpdateReason.BadManifest : new ReleaseKeys([.. trusted]).Check(manifest, file.ManifestBytes, file.Signature);
        if (refusal != UpdateReason.None)
        {
            throw new FormatException("--factory-release " + releasePath + " is refused by the loader: " + UpdateReason.NameOf(refusal));
        }

        return new SimulatedFirmwareOptions { TrustedKeys = trusted, FactoryRelease = release };
    }
}

/// <summary>
/// One simulated bell's loader and update client on its simulated flash (its state directory): the device's own
/// <see cref="LoaderBoot"/> and <see cref="ApplicationUpdates"/> over <see cref="MqttUpdateLink"/>, on
/// <see cref="FlashFiles"/> and <see cref="FlashStorage"/> on the bell's simulated power, with only the start of the
/// slot's image simulated (<see cref="SimulatedApplicationStarter"/>). Messages on the bell's update topic are queued
/// from the network thread and handled on the update loop; a restart the client asks for restarts the whole bell.
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

    /// <param name="power">The bell's simulated power: a cut stops the loader and the client at that flash write.</param>
    /// <exception cref="PowerCutException">The power went away while the loader booted.</exception>
    public DeviceUpdates(DeviceRecord record, string statePath, MqttLink link, IClock clock, SimulatedFirmwareOptions options, Func<bool> holds, Action restart, Action<Exception> onError, PowerCut power)
    {
        _holds = holds;
        _restart = restart;
        var records = new PowerCutFlash(statePath, power);
        var files = new PowerCutFiles(new FlashFiles(statePath, DriveBytes), power);
        var keys = new ReleaseKeys([.. options.TrustedKeys]);
        if (SimulatedLoader.IsFactoryFresh(files, records))
        {
            SimulatedLoader.InstallFactory(options.FactoryRelease, files, records);
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

    public bool HoldsUpdate => _holds();

    public void Start() => _loop.Start();

    public void Dispose()
    {
        _link.StopDelivering();
        _loop.Dispose();
    }

    /// <summary>The <c>hardware/</c> board of a bell profile (protocol/README.md §11.1).</summary>
    public static string BoardOf(string profile) => profile switch
    {
        "voice" => "voice-bell",
        "battery" => "battery-bell",
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
