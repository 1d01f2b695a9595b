using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;

namespace Anshimi.Firmware.Tests.Ota;

/// <summary>
/// The update client fed as a streetlight's carousel feeds it (protocol/README.md §11.9): chunks unasked and in any
/// order, each heard again in later rounds, with the device rebooting from its flash between chunks.
/// </summary>
[Trait("Category", "Ota")]
public sealed class CarouselDownloadTests : IDisposable
{
    private readonly ReleaseKey _key = ReleaseKey.Generate();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "anshimi-carousel-" + Guid.NewGuid().ToString("N"));
    private readonly VirtualClock _clock = new(new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc));
    private readonly CarouselLink _link = new();

    public void Dispose()
    {
        _key.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void Chunks_kept_in_any_order_survive_a_reboot_after_every_one_and_make_the_slot()
    {
        var factory = new TestRelease(_key, "1.0.0", ["streetlight"], ["streetlight"]);
        var release = new TestRelease(_key, "1.1.0", ["streetlight"], ["streetlight"], size: 2600);
        SimulatedLoader.InstallFactory(factory.File, Files(), new FlashStorage(_directory));
        int count = release.Manifest.ChunkCount;
        Assert.True(count >= 8);

        UpdateClient client = Boot();
        client.Handle(release.Offer);
        Assert.Equal(UpdateState.Offered, _link.Reports[^1].State);
        Assert.Empty(_link.Requests);

        // A light that joined mid-round: the second half first, then the first half, every chunk twice.
        int[] order = [.. Enumerable.Range(count / 2, count - (count / 2)), .. Enumerable.Range(0, count / 2)];
        int kept = 0;
        foreach (int index in order)
        {
            client.Handle(release.Chunk(index));
            client.Handle(release.Chunk(index));
            kept++;
            if (kept == count)
            {
                break;
            }

            // The power goes: what was kept comes back from flash, nothing more.
            client = Boot();
            Assert.Equal(kept, client.ChunksDone);
            Assert.True(client.Holds(index));
            Assert.False(client.Verified);
        }

        Assert.True(client.Verified);
        Assert.Equal(UpdateState.Verified, _link.Reports[^1].State);
        Assert.Equal(count, _link.Reports[^1].ChunksDone);
        Assert.Empty(_link.Requests);

        // The download record is back to its 11 bytes once every chunk is in: chunk N, the slot written.
        byte[] record = new FlashStorage(_directory).Read(UpdateClient.DownloadRecord)!;
        Assert.Equal(11, record.Length);
        Assert.Equal(count, (record[9] << 8) | record[10]);
        Assert.True(Boot().Verified);
    }

    [Fact]
    public void A_download_record_whose_bits_do_not_fit_the_manifest_is_dropped_not_trusted()
    {
        var factory = new TestRelease(_key, "1.0.0", ["streetlight"], ["streetlight"]);
        var release = new TestRelease(_key, "1.1.0", ["streetlight"], ["streetlight"], size: 2600);
        SimulatedLoader.InstallFactory(factory.File, Files(), new FlashStorage(_directory));
        UpdateClient client = Boot();
        client.Handle(release.Offer);
        client.Handle(release.Chunk(3));
        byte[] record = new FlashStorage(_directory).Read(UpdateClient.DownloadRecord)!;
        Assert.True(record.Length > 11);

        new FlashStorage(_directory).Write(UpdateClient.DownloadRecord, [.. record, 0xFF]);
        client = Boot();

        Assert.Null(client.Download);
        Assert.Equal(0, client.ChunksDone);
    }

    private FlashFiles Files() => new(_directory, 4 * 1024 * 1024);

    private UpdateClient Boot()
    {
        var records = new FlashStorage(_directory);
        var keys = new ReleaseKeys([_key.PublicKey]);
        var loader = new SlotLoader(records, Files(), keys);
        BootResult boot = loader.Boot();
        var client = new UpdateClient(_link, boot, loader, keys, Files(), records, _clock, new Hold(), "streetlight", "streetlight", new UpdateClientSettings());
        client.OnConnected();
        return client;
    }

    /// <summary>A link that asks for nothing, as a carousel's, and keeps what the client sends.</summary>
    private sealed class CarouselLink : IUpdateLink
    {
        public List<UpdateMessage> Reports { get; } = [];

        public List<UpdateMessage> Requests { get; } = [];

        public bool IsConnected => true;

        public bool AsksForChunks => false;

        public bool Open() => true;

        public bool Send(byte[] message)
        {
            UpdateMessage read = UpdateMessage.Read(message)!;
            (read.Type == UpdateMessage.ChunkRequest ? Requests : Reports).Add(read);
            return true;
        }
    }
}
