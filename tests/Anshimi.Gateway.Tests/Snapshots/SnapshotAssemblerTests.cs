using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Snapshots;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.Gateway.Tests.Snapshots;

public sealed class SnapshotAssemblerTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    private TestDevice Doorbell => _gateway.Devices[0];

    private SnapshotAssembler Assembler => _gateway.Get<SnapshotAssembler>();

    private SnapshotOutbox SnapshotOutbox => _gateway.Get<SnapshotOutbox>();

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Chunks_in_any_order_with_duplicates_make_one_stored_image_one_stage_four_ack_and_one_envelope()
    {
        byte[] image = SnapshotChunks.Image(950);
        await SendAsync(Doorbell.Alarm(10, SnapshotChunks.Loitering, 3));
        List<byte[]> chunks = SnapshotChunks.For(Doorbell, 10, 11, image);
        Assert.Equal(6, chunks.Count);
        foreach (int i in new[] { 3, 0, 5, 3, 1, 2 })
        {
            await ChunkAsync(chunks[i]);
        }

        Assert.Empty(StageFourAcks());
        Assert.Equal(UplinkOutcome.Accepted, (await ChunkAsync(chunks[4])).Outcome);

        Frame ack = Assert.Single(StageFourAcks());
        Assert.Equal(10u, ack.AckedCounter);
        Assert.Equal(image, await _gateway.Get<SnapshotStore>().GetImageAsync(new AlarmKey(Doorbell.Id, 10), CancellationToken.None));
        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM snapshot_chunks"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_snapshot_chunks_duplicate_total"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_snapshot_completed_total"));

        // A doorbell that missed the ack sends again from chunk 0: it hears the ack again.
        Assert.Equal(UplinkOutcome.Duplicate, (await ChunkAsync(Doorbell.Sign(SnapshotChunks.Frames(Doorbell, 10, 20, image)[0]))).Outcome);
        Assert.Equal(2, StageFourAcks().Count);

        Assert.Equal(1, await SnapshotOutbox.PublishDueAsync(CancellationToken.None));
        SnapshotEnvelope envelope = Assert.Single(Envelopes<SnapshotEnvelope>());
        Assert.Equal("0000A1B2:10", envelope.Key);
        Assert.Equal(new ContactIdEvent(150, 1, 3), envelope.Event);
        Assert.Equal(image, envelope.Data);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(image)), envelope.Sha256Hex);
        Assert.Equal("image/jpeg", envelope.ContentType);

        // Resent until the cloud's receipt, not after.
        _gateway.Time.Advance(GatewayHarness.RetryInterval);
        Assert.Equal(1, await SnapshotOutbox.PublishDueAsync(CancellationToken.None));
        await _gateway.Commands.HandleAsync(EnvelopeSerializer.Serialize(new SnapshotReceiptEnvelope("0000A1B2:10")), CancellationToken.None);
        _gateway.Time.Advance(GatewayHarness.RetryMaxInterval);
        Assert.Equal(0, await SnapshotOutbox.PublishDueAsync(CancellationToken.None));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_snapshot_receipts_total"));
    }

    [Fact]
    public async Task A_ring_and_its_picture_stay_at_the_gateway()
    {
        byte[] ring = Doorbell.Sign(Frame.Alarm(Doorbell.Id, 5, SnapshotChunks.Ring, ContactIdQualifier.StatusReport, 2));
        await SendAsync(ring);
        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM outbox"));
        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM alarms WHERE counter = 5"));
        Assert.Equal(AckStage.Received, Acks().Single(a => a.AckedCounter == 5).AckStage);

        foreach (byte[] chunk in SnapshotChunks.For(Doorbell, 5, 6, SnapshotChunks.Image(300), SnapshotChunks.Ring, ContactIdQualifier.StatusReport, 2))
        {
            await ChunkAsync(chunk);
        }

        Assert.Single(StageFourAcks());
        Assert.Equal(0, await SnapshotOutbox.PublishDueAsync(CancellationToken.None));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_doorbell_rings"));
        Assert.Empty(_gateway.Mqtt.PublishedTo(Topics.GatewayEvents(GatewayHarness.GatewayId)));
    }

    [Fact]
    public async Task A_gateway_restart_mid_snapshot_loses_no_chunk()
    {
        byte[] image = SnapshotChunks.Image(700);
        List<byte[]> chunks = SnapshotChunks.For(Doorbell, 40, 41, image);
        await ChunkAsync(chunks[0]);
        await ChunkAsync(chunks[1]);

        _gateway = await _gateway.RestartAsync();
        foreach (byte[] chunk in chunks.Skip(2))
        {
            await ChunkAsync(chunk);
        }

        Assert.Equal(40u, Assert.Single(StageFourAcks()).AckedCounter);
        Assert.Equal(image, await _gateway.Get<SnapshotStore>().GetImageAsync(new AlarmKey(Doorbell.Id, 40), CancellationToken.None));
    }

    [Fact]
    public async Task A_hash_mismatch_drops_the_chunks_so_a_clean_resend_completes()
    {
        byte[] image = SnapshotChunks.Image(450);
        List<Frame> frames = SnapshotChunks.Frames(Doorbell, 60, 61, image);

        // Same length, one byte different: every chunk is authentic, the whole is not the picture the manifest names.
        byte[] corrupt = (byte[])image.Clone();
        corrupt[250] ^= 0xFF;
        List<Frame> bad = SnapshotChunks.Frames(Doorbell, 60, 61, corrupt);
        bad[0] = frames[0];
        UplinkResult last = default;
        foreach (Frame frame in bad)
        {
            last = await ChunkAsync(Doorbell.Sign(frame));
        }

        Assert.Equal(SnapshotAssembler.HashMismatch, last.Reason);
        Assert.Empty(StageFourAcks());
        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM snapshot_chunks"));
        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM snapshots"));

        foreach (byte[] chunk in SnapshotChunks.For(Doorbell, 60, 70, image))
        {
            await ChunkAsync(chunk);
        }

        Assert.Single(StageFourAcks());
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_snapshot_chunks_rejected_total{reason=\"snapshot_hash_mismatch\"}"));
    }

    [Fact]
    public async Task Malformed_chunks_are_dropped_and_counted_and_never_disturb_a_snapshot_in_progress()
    {
        byte[] image = SnapshotChunks.Image(500);
        List<byte[]> good = SnapshotChunks.For(Doorbell, 100, 101, image);
        await ChunkAsync(good[0]);
        await ChunkAsync(good[1]);
        long heldBefore = _gateway.Count("SELECT count(*) FROM snapshot_chunks");

        var manifest = new byte[FramePayloads.SnapshotManifestLength];
        var full = new byte[200];
        var oversize = new byte[FramePayloads.SnapshotManifestLength];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(oversize, 10_000_000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(manifest, 500);
        (string Reason, byte[] Payload)[] hostile =
        [
            ("bad_tag", new TestDevice(Doorbell.Id, 99).Sign(FramePayloads.SnapshotChunk(Doorbell.Id, 200, 150, 1, 3, 100, 2, 4, full, 0, 200))),
            ("field_out_of_range", WithIndex(Doorbell.Sign(FramePayloads.SnapshotChunk(Doorbell.Id, 201, 150, 1, 3, 100, 2, 4, full, 0, 200)), 9)),
            (SnapshotAssembler.Oversize, Doorbell.Sign(FramePayloads.SnapshotChunk(Doorbell.Id, 202, 150, 1, 3, 150, 0, 2, oversize, 0, oversize.Length))),
            (SnapshotAssembler.Oversize, Doorbell.Sign(FramePayloads.SnapshotChunk(Doorbell.Id, 203, 150, 1, 3, 151, 5, 60_000, full, 0, 200))),
            (SnapshotAssembler.BadManifest, Doorbell.Sign(FramePayloads.SnapshotChunk(Doorbell.Id, 204, 150, 1, 3, 152, 0, 9, manifest, 0, manifest.Length))),
            (SnapshotAssembler.BadChunkLength, Doorbell.Sign(FramePayloads.SnapshotChunk(Doorbell.Id, 205, 150, 1, 3, 100, 2, 4, full, 0, 120))),
            (SnapshotAssembler.BadSnapshotId, Doorbell.Sign(FramePayloads.SnapshotChunk(Doorbell.Id, 206, 150, 1, 3, 206, 2, 4, full, 0, 200))),
            (SnapshotAssembler.Inconsistent, Doorbell.Sign(FramePayloads.SnapshotChunk(Doorbell.Id, 207, 150, 1, 3, 100, 2, 5, full, 0, 200))),
            (SnapshotAssembler.Inconsistent, Doorbell.Sign(FramePayloads.SnapshotChunk(Doorbell.Id, 208, 120, 1, 1, 100, 2, 4, full, 0, 200))),
            (AlarmPipeline.TopicMismatch, _gateway.Devices[1].Sign(FramePayloads.SnapshotChunk(_gateway.Devices[1].Id, 209, 150, 1, 3, 100, 2, 4, full, 0, 200))),
        ];
        foreach ((string reason, byte[] payload) in hostile)
        {
            UplinkResult result = await Assembler.HandleChunkAsync(Doorbell.UplinkTopic, payload, CancellationToken.None);
            Assert.Equal((UplinkOutcome.Rejected, reason), (result.Outcome, result.Reason));
        }

        Assert.Equal(heldBefore, _gateway.Count("SELECT count(*) FROM snapshot_chunks"));
        Assert.Equal(2, _gateway.Metric("anshimi_gateway_snapshot_chunks_rejected_total{reason=\"snapshot_oversize\"}"));
        Assert.Equal(2, _gateway.Metric("anshimi_gateway_snapshot_chunks_rejected_total{reason=\"snapshot_inconsistent\"}"));

        await ChunkAsync(good[2]);
        await ChunkAsync(good[3]);
        Assert.Equal(100u, Assert.Single(StageFourAcks()).AckedCounter);
    }

    [Fact]
    public async Task A_chunk_far_below_the_newest_counter_is_a_replay()
    {
        await SendAsync(Doorbell.Alarm(5000));
        List<byte[]> old = SnapshotChunks.For(Doorbell, 10, 11, SnapshotChunks.Image(100));
        UplinkResult result = await ChunkAsync(old[0]);
        Assert.Equal("replayed", result.Reason);

        // Within the window (a resend behind newer counters) it is accepted.
        List<byte[]> recent = SnapshotChunks.For(Doorbell, 4000, 4500, SnapshotChunks.Image(100));
        Assert.Equal(UplinkOutcome.Accepted, (await ChunkAsync(recent[0])).Outcome);
    }

    [Fact]
    public async Task Incomplete_snapshots_expire_after_the_configured_time_and_are_counted()
    {
        List<byte[]> chunks = SnapshotChunks.For(Doorbell, 80, 81, SnapshotChunks.Image(600));
        await ChunkAsync(chunks[0]);
        await ChunkAsync(chunks[1]);
        SnapshotSweeper sweeper = _gateway.Get<SnapshotSweeper>();
        Assert.Equal(0, await sweeper.SweepAsync(CancellationToken.None));

        _gateway.Time.Advance(new SnapshotOptions().IncompleteExpiry + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await sweeper.SweepAsync(CancellationToken.None));
        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM snapshot_chunks"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_snapshot_expired_total"));
    }

    [Fact]
    public async Task Stored_images_are_deleted_after_retention_once_the_cloud_has_them()
    {
        byte[] image = SnapshotChunks.Image(300);
        foreach (byte[] chunk in SnapshotChunks.For(Doorbell, 90, 91, image))
        {
            await ChunkAsync(chunk);
        }

        var key = new AlarmKey(Doorbell.Id, 90);
        _gateway.Time.Advance(new SnapshotOptions().Retention + TimeSpan.FromMinutes(1));
        await _gateway.Get<SnapshotSweeper>().SweepAsync(CancellationToken.None);
        Assert.NotNull(await _gateway.Get<SnapshotStore>().GetImageAsync(key, CancellationToken.None));

        await _gateway.Commands.HandleAsync(EnvelopeSerializer.Serialize(new SnapshotReceiptEnvelope(key.ToString())), CancellationToken.None);
        await _gateway.Get<SnapshotSweeper>().SweepAsync(CancellationToken.None);
        Assert.Null(await _gateway.Get<SnapshotStore>().GetImageAsync(key, CancellationToken.None));
    }

    [Fact]
    public void Random_chunk_bytes_never_throw_and_never_store()
    {
        Prop.ForAll<byte[]>(tail =>
        {
            byte[] payload = [0x16, .. tail];
            UplinkResult result = Assembler.HandleChunkAsync(Doorbell.UplinkTopic, payload, CancellationToken.None).GetAwaiter().GetResult();
            return result.Outcome == UplinkOutcome.Rejected;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
        Assert.Equal(0, _gateway.Metric("anshimi_gateway_snapshot_chunks_total"));
    }

    private static byte[] WithIndex(byte[] frame, ushort index)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(FrameCodec.HeaderLength + 4), index);
        return frame;
    }

    private Task<UplinkResult> ChunkAsync(byte[] payload) => Assembler.HandleChunkAsync(Doorbell.UplinkTopic, payload, CancellationToken.None);

    private Task<UplinkResult> SendAsync(byte[] payload) => _gateway.Pipeline.HandleUplinkAsync(Doorbell.UplinkTopic, payload, CancellationToken.None);

    private List<Frame> Acks() =>
        [.. _gateway.Mqtt.PublishedTo(Doorbell.DownlinkTopic).Select(m => Doorbell.ReadDownlink(m.Payload)!)];

    private List<Frame> StageFourAcks() => [.. Acks().Where(a => a.AckStage == AckStage.SnapshotStored)];

    private List<T> Envelopes<T>()
        where T : Envelope =>
        [.. _gateway.Mqtt.PublishedTo(Topics.GatewayEvents(GatewayHarness.GatewayId))
            .Select(m => EnvelopeSerializer.TryParse(m.Payload, out Envelope? e, out _) ? e : null)
            .OfType<T>()];
}
