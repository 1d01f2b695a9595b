using Anshimi.Firmware;
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
/// One simulated bell's loader and update client on its simulated flash (its state directory): the real
/// <see cref="SlotLoader"/>, <see cref="UpdateClient"/>, <see cref="FlashFiles"/> and <see cref="FlashStorage"/> on the
/// bell's simulated power, with only the start of the slot's image simulated (<see cref="SimulatedApplicationStarter"/>).
/// Messages on the bell's update topic are queued from the network thread and handled on the update loop; a restart the
/// client asks for restarts the whole bell.
/// </summary>
public sealed class DeviceUpdates : IDisposable, IUpdateHold
{
    private const long DriveBytes = 4L * 1024 * 1024;
    private const int PublishTimeoutMs = 5000;

    private readonly MqttLink _link;
    private readonly Func<bool> _holds;
    private readonly Action _restart;
    private readonly PayloadRing _queue = new(64);
    private readonly Lock _queueGate = new();
    private readonly DeviceLoop _loop;
    private readonly SimulatedApplicationStarter _starter = new();
    private readonly MqttUpdateLink _updates;
    private readonly UpdateClient _client;
    private bool _wasConnected;
    private bool _restarting;

    /// <param name="power">The bell's simulated power: a cut stops the loader and the client at that flash write.</param>
    /// <exception cref="PowerCutException">The power went away while the loader booted.</exception>
    public DeviceUpdates(DeviceRecord record, string statePath, MqttLink link, IClock clock, SimulatedFirmwareOptions options, Func<bool> holds, Action restart, Action<Exception> onError, PowerCut power)
    {
        _link = link;
        _holds = holds;
        _restart = restart;
        var records = new PowerCutFlash(statePath, power);
        var files = new PowerCutFiles(new FlashFiles(statePath, DriveBytes), power);
        var keys = new ReleaseKeys([.. options.TrustedKeys]);
        var loader = new SlotLoader(records, files, keys);
        if (SimulatedLoader.IsFactoryFresh(files, records))
        {
            SimulatedLoader.InstallFactory(options.FactoryRelease, files, records);
        }

        Boot = SimulatedLoader.Boot(loader, _starter);
        Board = BoardOf(record.Profile);
        _updates = new MqttUpdateLink(link, record.NumericId, PublishTimeoutMs);
        _client = new UpdateClient(_updates, Boot, loader, keys, files, records, clock, this, Board, record.Profile, options.Settings);
        _link.MessageReceived += OnMessage;
        _loop = new DeviceLoop("ota-" + record.DeviceId, Tick, 20, onError, power);
    }

    public BootResult Boot { get; }

    public string Board { get; }

    public SimulatedImageBehaviour Behaviour => _starter.Behaviour;

    public bool HoldsUpdate => _holds();

    public void Start() => _loop.Start();

    public void Dispose()
    {
        _link.MessageReceived -= OnMessage;
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

        // An image that never connects says nothing: its trial runs out.
        bool connected = _link.IsConnected && _starter.Behaviour != SimulatedImageBehaviour.Silent;
        if (connected && !_wasConnected)
        {
            _client.OnConnected();
        }

        _wasConnected = connected;
        while (true)
        {
            byte[]? payload;
            lock (_queueGate)
            {
                payload = _queue.Dequeue();
            }

            if (payload is null)
            {
                break;
            }

            if (connected)
            {
                _client.Handle(payload);
            }
        }

        _client.Tick();
        if (_client.RestartRequested)
        {
            _restarting = true;

            // The restart disposes this loop: not from its own thread.
            ThreadPool.QueueUserWorkItem(_ => _restart());
        }
    }

    private void OnMessage(string topic, byte[] payload)
    {
        if (topic != _updates.DownTopic)
        {
            return;
        }

        lock (_queueGate)
        {
            _queue.TryEnqueue(payload);
        }
    }
}
