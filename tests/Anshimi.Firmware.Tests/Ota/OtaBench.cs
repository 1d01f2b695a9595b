using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;

namespace Anshimi.Firmware.Tests.Ota;

/// <summary>A signed release for the tests, made by the release tool's own packer.</summary>
public sealed class TestRelease
{
    public TestRelease(ReleaseKey key, string version, string[] boards, string[] kinds, SimulatedImageBehaviour behaviour = SimulatedImageBehaviour.Normal,
        string minimum = "0.0.0", string floor = "0.0.0", int size = 1000)
    {
        byte[] first = SimulatedApplicationStarter.ImageText("Anshimi.Bell.Device " + version, behaviour, size - 300);
        byte[] second = Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray();
        File = ReleasePacker.Pack(
            new ReleaseDescription(ReleaseVersion.Parse(version)!, ReleaseVersion.Parse(minimum)!, ReleaseVersion.Parse(floor)!, kinds, boards, "Anshimi.Bell.Device.Program", 256),
            [new ReleaseAssembly("Anshimi.Bell.Device.pe", first), new ReleaseAssembly("Anshimi.Firmware.Core.pe", second)],
            key,
            DateTimeOffset.UnixEpoch.AddDays(20000));
        Parsed = ReleaseFile.Read(File)!;
        Manifest = ReleaseManifest.Read(Parsed.ManifestBytes)!;
        Id = ReleaseManifest.ReleaseIdOf(Parsed.ManifestBytes, new Protocol.Security.Sha256());
    }

    public byte[] File { get; }

    public ReleaseFile Parsed { get; }

    public ReleaseManifest Manifest { get; }

    public byte[] Id { get; }

    public byte[] Offer => UpdateMessage.EncodeOffer(Parsed.ManifestBytes, Parsed.Signature);

    public byte[] Chunk(int index)
    {
        int offset = index * Manifest.ChunkSize;
        return UpdateMessage.EncodeChunk(Id, index, offset, Parsed.Image, offset, Manifest.ChunkLength(index));
    }
}

public sealed class Hold : IUpdateHold
{
    public bool HoldsUpdate { get; set; }
}

/// <summary>
/// One simulated bell's flash directory with the real loader, update client, flash adapters and release keys, and the
/// gateway's side played in memory: it answers chunk requests from the release and activates a verified slot.
/// <see cref="Reboot"/> starts the device again on the same flash.
/// </summary>
public sealed class OtaBench : IDisposable
{
    public const uint DeviceId = 0x0000A001;

    private readonly ReleaseKeys _keys;
    private int _handled;

    public OtaBench(ReleaseKey trusted, string board = "home-bell", string profile = "home")
    {
        Directory = Path.Combine(Path.GetTempPath(), "anshimi-ota-" + Guid.NewGuid().ToString("N"));
        _keys = new ReleaseKeys([trusted.PublicKey]);
        Board = board;
        Profile = profile;
        Link = new FakeMqttLink(Clock);
    }

    public string Directory { get; }

    public string Board { get; }

    public string Profile { get; }

    public VirtualClock Clock { get; } = new(new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc));

    public FakeMqttLink Link { get; }

    public Hold Hold { get; } = new();

    public SimulatedApplicationStarter Starter { get; } = new();

    public IDeviceStorage Records { get; private set; } = null!;

    public IFirmwareFiles Files { get; private set; } = null!;

    public SlotLoader Loader { get; private set; } = null!;

    public BootResult Boot { get; private set; } = null!;

    public UpdateClient Client { get; private set; } = null!;

    /// <summary>Every state report the device sent, in order.</summary>
    public List<UpdateMessage> Reports { get; } = [];

    /// <summary>Changes a chunk on its way to the device (null drops it).</summary>
    public Func<int, byte[], byte[]?> Transit { get; set; } = (_, chunk) => chunk;

    /// <summary>When false the gateway does not answer <c>verified</c> with activate.</summary>
    public bool AutoActivate { get; set; } = true;

    /// <summary>When false the gateway does not accept a trial.</summary>
    public bool AcceptTrials { get; set; } = true;

    public PowerCut Power { get; private set; } = new();

    /// <summary>Puts a release into slot a as the factory (or an installer) does: files, then the loader record.</summary>
    public void Install(TestRelease release)
    {
        var files = new FlashFiles(Directory, 4 * 1024 * 1024);
        var manifest = release.Manifest;
        int position = 0;
        for (int i = 0; i < manifest.AssemblyNames.Length; i++)
        {
            files.Write("a/" + manifest.AssemblyNames[i], release.Parsed.Image[position..(position + manifest.AssemblyLengths[i])]);
            position += manifest.AssemblyLengths[i];
        }

        files.Write("a/signature", release.Parsed.Signature);
        files.Write("a/manifest", release.Parsed.ManifestBytes);
        new LoaderRecord { ActiveVersion = manifest.Version, ActiveReleaseId = release.Id }.Write(new FlashStorage(Directory));
    }

    /// <summary>
    /// Power on: the loader boots, the image starts (a crash resets at once), the client connects. Without
    /// <paramref name="power"/> the device keeps its supply (a reset, not a power cut).
    /// </summary>
    public void Reboot(PowerCut? power = null)
    {
        Power = power ?? Power;
        Records = new PowerCutFlash(Directory, Power);
        Files = new PowerCutFiles(new FlashFiles(Directory, 4 * 1024 * 1024), Power);
        Link.Reset();
        _handled = 0;
        var loader = new LoaderBoot(Records, Files, _keys, Starter);
        Loader = loader.Loader;
        Boot = SimulatedLoader.Boot(loader);

        Client = new UpdateClient(new MqttUpdateLink(Link, DeviceId, 5000), Boot, Loader, _keys, Files, Records, Clock, Hold, Board, Profile, new UpdateClientSettings());
        if (Starter.Behaviour != SimulatedImageBehaviour.Silent || Boot.SafeMode)
        {
            Client.OnConnected();
            Pump();
        }
    }

    /// <summary>Delivers a message from the gateway and runs the exchange until nothing is left to answer.</summary>
    public void Deliver(byte[] message)
    {
        Client.Handle(message);
        Pump();
    }

    /// <summary>Answers what the device published, as the gateway would, until it has nothing more to say.</summary>
    public void Pump(TestRelease? release = null)
    {
        while (_handled < Link.Published.Count)
        {
            UpdateMessage message = UpdateMessage.Read(Link.Published[_handled++].Payload)!;
            if (message.Type == UpdateMessage.StateReport)
            {
                Reports.Add(message);
                if (message.State == UpdateState.Verified && AutoActivate)
                {
                    Client.Handle(UpdateMessage.EncodeRelease(UpdateMessage.Activate, message.ReleaseId));
                }
                else if (message.State == UpdateState.Trial && AcceptTrials)
                {
                    Client.Handle(UpdateMessage.EncodeRelease(UpdateMessage.TrialAccepted, message.ReleaseId));
                }
            }
            else if (message.Type == UpdateMessage.ChunkRequest && Offered != null)
            {
                for (int i = message.Index; i < message.Index + message.Count; i++)
                {
                    byte[]? chunk = Transit(i, Offered.Chunk(i));
                    if (chunk != null)
                    {
                        Client.Handle(chunk);
                    }
                }
            }
        }
    }

    /// <summary>The release the gateway serves chunks of.</summary>
    public TestRelease? Offered { get; set; }

    public void Offer(TestRelease release)
    {
        Offered = release;
        Deliver(release.Offer);
    }

    /// <summary>Runs a restart the client asked for (after activation or a trial timeout).</summary>
    public void RestartIfAsked()
    {
        if (Client.RestartRequested)
        {
            Reboot();
        }
    }

    public UpdateMessage LastReport => Reports[^1];

    public string States => string.Join(",", Reports.Select(r => UpdateState.NameOf(r.State) + (r.Reason == 0 ? "" : "/" + UpdateReason.NameOf(r.Reason))));

    public void Dispose()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
