using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests.Ota;

/// <summary>
/// A streetlight's carousel receiver (protocol/README.md §11.9) with its real loader and update client on a flash
/// directory, fed the gateway's pieces as its radio hears them: a light switches only on an activate piece signed for it.
/// </summary>
[Trait("Category", "Ota")]
public sealed class CarouselReceiverTests : IDisposable
{
    private const uint LightId = 0x5A000001;
    private const uint NeighbourId = 0x5A000002;
    private static readonly byte[] LightKey = [.. Enumerable.Range(0, 32).Select(i => (byte)(5 * i))];
    private static readonly byte[] NeighbourKey = [.. Enumerable.Range(0, 32).Select(i => (byte)(7 * i))];
    private static readonly string[] Streetlight = [StreetlightUpdates.Board];

    private readonly ReleaseKey _key = ReleaseKey.Generate();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "anshimi-receiver-" + Guid.NewGuid().ToString("N"));
    private readonly VirtualClock _clock = new(new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc));
    private readonly PieceRadio _radio = new();
    private readonly HmacSha256 _mac = new();

    public void Dispose()
    {
        _key.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void A_verified_light_ignores_its_neighbours_activate_and_a_forged_one_and_switches_on_its_own()
    {
        var release = new TestRelease(_key, "1.1.0", Streetlight, Streetlight, size: 1000);
        StreetlightUpdates light = Verified(release);

        // The activate piece the gateway sends the light the release was offered to: the neighbour's, under its key.
        Hear(Activate(release, NeighbourId, NeighbourKey), light);
        Assert.Equal(UpdateState.Verified, light.Client.LastState);
        Assert.False(light.Updates.RestartRequested);
        Assert.Equal(0, light.Receiver.RejectedForged);

        // One in this light's name that its key did not sign: counted, never a refusal.
        Hear(Activate(release, LightId, NeighbourKey), light);
        byte[] tampered = Activate(release, LightId, LightKey);
        tampered[^1] ^= 1;
        Hear(tampered, light);
        Assert.Equal(2, light.Receiver.RejectedForged);
        Assert.Equal(UpdateState.Verified, light.Client.LastState);
        Assert.False(light.Updates.RestartRequested);

        // Its own: it switches.
        Hear(Activate(release, LightId, LightKey), light);
        Assert.Equal(UpdateState.Activating, light.Client.LastState);
        Assert.True(light.Updates.RestartRequested);
        Assert.Equal(2, light.Receiver.RejectedForged);

        // The old slot's application stops; the loader starts the new one on trial.
        StreetlightUpdates next = Boot();
        Assert.True(next.Boot.Record.OnTrial);
        Assert.Equal("1.1.0", next.Boot.Record.ActiveVersion.ToString());
    }

    [Fact]
    public void The_unsigned_activate_of_the_old_layout_switches_no_light()
    {
        var release = new TestRelease(_key, "1.1.0", Streetlight, Streetlight, size: 1000);
        StreetlightUpdates light = Verified(release);
        var piece = new byte[CarouselPiece.MaxLength];
        piece[0] = CarouselPiece.Marker | CarouselPiece.ActivateKind;
        Array.Copy(release.Id, 0, piece, 1, CarouselPiece.ReleaseTagLength);

        Hear(piece[..CarouselPiece.ReleaseLength], light);

        Assert.Equal(UpdateState.Verified, light.Client.LastState);
        Assert.False(light.Updates.RestartRequested);
    }

    private StreetlightUpdates Verified(TestRelease release)
    {
        SimulatedLoader.InstallFactory(new TestRelease(_key, "1.0.0", Streetlight, Streetlight).File, Files(), new FlashStorage(_directory));
        StreetlightUpdates light = Boot();
        byte[] offer = release.Offer;
        for (int p = 0; p < CarouselPiece.PieceCount(offer.Length, CarouselPiece.OfferDataLength); p++)
        {
            var piece = new byte[CarouselPiece.MaxLength];
            Hear(piece[..CarouselPiece.WriteOffer(release.Id, p, offer, piece, 0)], light);
        }

        for (int index = 0; index < release.Manifest.ChunkCount; index++)
        {
            byte[] chunk = release.Parsed.Image[(index * release.Manifest.ChunkSize)..((index * release.Manifest.ChunkSize) + release.Manifest.ChunkLength(index))];
            for (int p = 0; p < CarouselPiece.PieceCount(chunk.Length, CarouselPiece.ChunkDataLength); p++)
            {
                var piece = new byte[CarouselPiece.MaxLength];
                Hear(piece[..CarouselPiece.WriteChunk(release.Id, index, p, chunk, piece, 0)], light);
            }
        }

        Assert.True(light.Client.Verified);
        Assert.Equal(UpdateState.Verified, light.Client.LastState);
        return light;
    }

    private byte[] Activate(TestRelease release, uint lightId, byte[] key)
    {
        var piece = new byte[CarouselPiece.MaxLength];
        return piece[..CarouselPiece.WriteForLight(CarouselPiece.ActivateKind, release.Id, lightId, key, _mac, piece, 0)];
    }

    private void Hear(byte[] piece, StreetlightUpdates light)
    {
        var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(piece, 0, piece.Length, false, advertisement, 0);
        _radio.Deliver(advertisement, length);
        _clock.Advance(100);
        light.Tick();
    }

    private FlashFiles Files() => new(_directory, 4 * 1024 * 1024);

    private StreetlightUpdates Boot() => new(
        new StreetlightConfig(LightId, LightKey, 37.5445, 127.0700), _radio, _clock, new FlashStorage(_directory), Files(), new ReleaseKeys([_key.PublicKey]),
        _mac, () => false, new UpdateClientSettings(), new CarouselReceiverSettings());

    /// <summary>A radio whose air is the test: what it is handed is heard, what the light advertises is dropped.</summary>
    private sealed class PieceRadio : IBleRadio
    {
        public event AdvertisementReceivedHandler? AdvertisementReceived;

        public void Deliver(byte[] data, int length) => AdvertisementReceived?.Invoke(data, length, -60);

        public bool Advertise(byte[] data, int length, int intervalMs) => true;

        public void StopAdvertising()
        {
        }

        public bool StartScanning() => true;

        public void StopScanning()
        {
        }
    }
}
