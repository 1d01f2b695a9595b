using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Snapshots;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests.Snapshots;

/// <summary>Snapshots are never starved by the window (protocol/README.md §10, "Snapshots and the window").</summary>
[Trait("Category", "Protocol")]
public sealed class SnapshotWindowTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    private TestDevice Doorbell => _gateway.Devices[0];

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task A_256_KiB_snapshot_with_heartbeats_between_its_chunks_and_an_early_chunk_lost_completes_when_that_chunk_comes_last()
    {
        byte[] image = SnapshotChunks.Image(256 * 1024);
        const uint snapshotId = 100;
        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Doorbell.UplinkTopic, Doorbell.Alarm(snapshotId, SnapshotChunks.Loitering, 3), CancellationToken.None)).Outcome);

        // One counter sequence: a heartbeat after every fourth chunk, as a doorbell's supervision goes on during the upload.
        List<Frame> plan = SnapshotChunks.Frames(Doorbell, snapshotId, 0, image);
        Assert.Equal(1312, plan.Count);
        uint counter = snapshotId;
        var sealedChunks = new List<byte[]>();
        byte[]? lost = null;
        for (int i = 0; i < plan.Count; i++)
        {
            Frame chunk = plan[i];
            byte[] frame = Doorbell.Sign(FramePayloads.SnapshotChunk(Doorbell.Id, ++counter, chunk.EventCode, chunk.Qualifier, chunk.Zone, snapshotId,
                FramePayloads.ChunkIndex(chunk), FramePayloads.ChunkCount(chunk), chunk.Payload, FramePayloads.SnapshotHeaderLength, FramePayloads.ChunkDataLength(chunk)));
            if (i == 1)
            {
                lost = frame;
                continue;
            }

            sealedChunks.Add(frame);
            Assert.Equal(UplinkOutcome.Accepted, (await Chunk(frame)).Outcome);
            if (i % 4 == 3)
            {
                Assert.Equal(UplinkOutcome.Heartbeat, (await _gateway.Pipeline.HandleUplinkAsync(Doorbell.UplinkTopic, Doorbell.Heartbeat(++counter), CancellationToken.None)).Outcome);
            }
        }

        // The lost chunk is now further behind the newest counter than the alarms' window reaches.
        uint lostCounter = snapshotId + 2;
        Assert.True(counter - lostCounter >= AlarmWindow.Size, "the upload must outrun the 1,024-counter alarm window");
        Assert.True(counter - lostCounter < AlarmWindow.SnapshotChunkSize, "and stay within the chunks' window");
        Assert.Empty(StageFourAcks());

        Assert.Equal(UplinkOutcome.Accepted, (await Chunk(lost!)).Outcome);

        Assert.Equal(snapshotId, Assert.Single(StageFourAcks()).AckedCounter);
        Assert.Equal(image, await _gateway.Get<SnapshotStore>().GetImageAsync(new AlarmKey(Doorbell.Id, snapshotId), CancellationToken.None));

        // And the picture fits the envelope it goes to the cloud in.
        byte[] envelope = EnvelopeSerializer.Serialize(new SnapshotEnvelope(
            new AlarmKey(Doorbell.Id, snapshotId).ToString(), "gw-test", DeviceIdText.Format(Doorbell.Id), new ContactIdEvent(SnapshotChunks.Loitering, 1, 3),
            DateTimeOffset.UnixEpoch, "image/jpeg", Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(image)), image));
        Assert.True(EnvelopeSerializer.TryParse(envelope, out _, out string error), error);
        Assert.Equal(0, _gateway.Metric("anshimi_gateway_frames_rejected_total"));
    }

    private Task<UplinkResult> Chunk(byte[] frame) => _gateway.Get<SnapshotAssembler>().HandleChunkAsync(Doorbell.UplinkTopic, frame, CancellationToken.None);

    private List<Frame> StageFourAcks() =>
        [.. _gateway.Mqtt.PublishedTo(Doorbell.DownlinkTopic).Select(m => Doorbell.ReadDownlink(m.Payload)!).Where(a => a.AckStage == AckStage.SnapshotStored)];
}
