using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Security;

namespace Anshimi.Protocol.Tests.Ota;

/// <summary>The BLE carousel's pieces (protocol/README.md §11.9).</summary>
[Trait("Category", "Ota")]
public sealed class CarouselPieceTests
{
    private static readonly byte[] ReleaseId = [0x8C, 0x1F, 0x0B, 0x6A, 0x2E, 0x7D, 0x4C, 0x91];
    private static readonly byte[] Key = [.. Enumerable.Range(0, 32).Select(i => (byte)(3 * i))];

    [Fact]
    public void No_device_frame_is_taken_for_a_piece_and_no_piece_for_a_frame()
    {
        var codec = new FrameCodec(new HmacSha256());
        byte[] beacon = codec.Encode(new Frame(FrameType.Beacon, 0x5A000001, 7, ContactIdCode.None, ContactIdQualifier.None, 0, [0, 70]), Key);
        byte[] sealedAlarm = new FrameCodecV2(new HmacSha256()).Encode(Frame.Alarm(0x0000A001, 9, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), new FrameKeySet(new HmacSha256(), Key, 0));
        Assert.False(CarouselPiece.IsPiece(beacon, 0, beacon.Length));
        Assert.False(CarouselPiece.IsPiece(sealedAlarm, 0, sealedAlarm.Length));

        var piece = new byte[CarouselPiece.MaxLength];
        int length = CarouselPiece.WriteCancel(ReleaseId, piece, 0);
        Assert.True(CarouselPiece.IsPiece(piece, 0, length));
        Assert.NotEqual(FrameError.None, FrameCodec.Validate(piece, 0, length));
        Assert.False(FrameCodecV2.IsVersion2(piece, 0, length));
    }

    [Fact]
    public void Offer_and_chunk_pieces_cut_their_bytes_into_what_a_flagless_advertisement_holds()
    {
        byte[] chunk = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];
        int pieces = CarouselPiece.PieceCount(chunk.Length, CarouselPiece.ChunkDataLength);
        Assert.Equal(15, pieces);
        var joined = new List<byte>();
        for (int p = 0; p < pieces; p++)
        {
            var piece = new byte[CarouselPiece.MaxLength];
            int length = CarouselPiece.WriteChunk(ReleaseId, 41, p, chunk, piece, 0);
            var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
            Assert.True(BleAdvertisement.Write(piece, 0, length, false, advertisement, 0) > 0, "a piece fits a flagless advertisement");
            Assert.Equal(CarouselPiece.Marker | CarouselPiece.ChunkKind, piece[0]);
            Assert.True(CarouselPiece.NamesRelease(piece, 0, ReleaseId));
            Assert.Equal(41, BigEndian.ReadUInt16(piece, 5));
            Assert.Equal(p, BigEndian.ReadUInt16(piece, 7));
            joined.AddRange(piece[CarouselPiece.ChunkHeaderLength..length]);
        }

        Assert.Equal(chunk, joined);

        byte[] offer = UpdateMessage.EncodeOffer([.. Enumerable.Range(0, 100).Select(i => (byte)i)], new byte[64]);
        var last = new byte[CarouselPiece.MaxLength];
        int lastIndex = CarouselPiece.PieceCount(offer.Length, CarouselPiece.OfferDataLength) - 1;
        int lastLength = CarouselPiece.WriteOffer(ReleaseId, lastIndex, offer, last, 0);
        Assert.Equal(offer[(lastIndex * CarouselPiece.OfferDataLength)..], last[CarouselPiece.OfferHeaderLength..lastLength]);
    }

    [Fact]
    public void Reports_activations_and_trial_acceptances_verify_only_under_the_lights_key_and_unchanged()
    {
        var mac = new HmacSha256();
        var report = new byte[CarouselPiece.MaxLength];
        int length = CarouselPiece.WriteReport(0x5A000001, 12, UpdateState.Downloading, UpdateReason.None, 48, new ReleaseVersion(1, 4, 2), Key, mac, report, 0);
        Assert.Equal(CarouselPiece.ReportLength, length);
        Assert.True(CarouselPiece.HasValidTag(report, 0, length, Key, mac));
        Assert.Equal("1.4.2", ReleaseVersion.Read(report, 13).ToString());

        byte[] otherKey = [.. Key];
        otherKey[0] ^= 1;
        Assert.False(CarouselPiece.HasValidTag(report, 0, length, otherKey, mac));
        report[11] ^= 1;
        Assert.False(CarouselPiece.HasValidTag(report, 0, length, Key, mac));

        foreach (byte kind in new[] { CarouselPiece.ActivateKind, CarouselPiece.TrialAcceptedKind })
        {
            var forLight = new byte[CarouselPiece.MaxLength];
            length = CarouselPiece.WriteForLight(kind, ReleaseId, 0x5A000001, Key, mac, forLight, 0);
            Assert.Equal(CarouselPiece.LightPieceLength, length);
            Assert.Equal(CarouselPiece.Marker | kind, forLight[0]);
            Assert.True(CarouselPiece.NamesRelease(forLight, 0, ReleaseId));
            Assert.Equal(0x5A000001u, BigEndian.ReadUInt32(forLight, 5));
            Assert.True(CarouselPiece.HasValidTag(forLight, 0, length, Key, mac));
            Assert.False(CarouselPiece.HasValidTag(forLight, 0, length, otherKey, mac));

            // Another light's id in the same piece: the tag no longer verifies.
            forLight[8] ^= 1;
            Assert.False(CarouselPiece.HasValidTag(forLight, 0, length, Key, mac));
        }
    }
}
