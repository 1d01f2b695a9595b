using Anshimi.CloudBridge.Firmware;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;

namespace Anshimi.CloudBridge.Tests.Firmware;

public sealed class FirmwareStoreOnSqliteTests() : FirmwareStoreTests(StorageProvider.Sqlite);

[Trait("Category", "HighAvailability")]
public sealed class FirmwareStoreOnPostgreSqlTests() : FirmwareStoreTests(StorageProvider.PostgreSql);

/// <summary>
/// The firmware store on each engine, opened through its migrations: a release kept once with its image by chunk, the
/// newest report winning, a final rollout row never reopened by a late report, and of two instances moving one rollout
/// exactly one succeeding.
/// </summary>
[Trait("Category", "Ota")]
public abstract class FirmwareStoreTests(StorageProvider provider) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 4, 0, 0, TimeSpan.Zero);
    private TestStorage _storage = null!;

    public async Task InitializeAsync() => _storage = await TestStorage.CreateAsync(provider);

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task A_release_is_kept_once_and_read_back_chunk_by_chunk()
    {
        var store = new FirmwareStore(_storage.Open(StoreFile.Firmware));
        StoredRelease release = Release(out byte[] image);

        Assert.True(await store.AddReleaseAsync(release, image, CancellationToken.None));
        Assert.False(await store.AddReleaseAsync(release, image, CancellationToken.None));

        StoredRelease found = (await store.FindReleaseAsync(release.ReleaseId, CancellationToken.None))!;
        Assert.Equal(release.ManifestBytes, found.ManifestBytes);
        Assert.Equal(release.Signature, found.Signature);
        Assert.Equal(image[4096..5000], await store.ReadChunkAsync(release.ReleaseId, 4, CancellationToken.None));
        Assert.Null(await store.ReadChunkAsync(release.ReleaseId, 5, CancellationToken.None));
    }

    [Fact]
    public async Task The_newest_report_wins_and_a_final_rollout_row_is_not_reopened()
    {
        var store = new FirmwareStore(_storage.Open(StoreFile.Firmware));
        await store.AddRolloutAsync(Rollout("r-1", "00112233aabbccdd"), CancellationToken.None);
        await store.AddRolloutDevicesAsync([new RolloutDevice("r-1", "0000A001", 0, "gw-a", RolloutDevice.Pending, null, false, At, At)], CancellationToken.None);

        await store.RecordStateAsync(Report("rolled-back", "crashed", At.AddMinutes(2)), At, CancellationToken.None);
        await store.RecordStateAsync(Report("downloading", null, At.AddMinutes(1)), At, CancellationToken.None);
        await store.RecordStateAsync(Report("confirmed", null, At.AddMinutes(3)), At, CancellationToken.None);

        DeviceFirmware latest = (await store.FindDeviceFirmwareAsync("0000A001", CancellationToken.None))!;
        Assert.Equal(("confirmed", At.AddMinutes(3)), (latest.State, latest.ReportedAt));
        RolloutDevice row = (await store.ListRolloutDevicesAsync("r-1", CancellationToken.None)).Single();
        Assert.Equal(("rolled-back", "crashed", true), (row.State, row.Reason, row.Final));
    }

    [Fact]
    public async Task Of_two_instances_moving_one_rollout_exactly_one_does()
    {
        var first = new FirmwareStore(_storage.Open(StoreFile.Firmware));
        var second = new FirmwareStore(_storage.Open(StoreFile.Firmware));
        Rollout rollout = Rollout("r-2", "00112233aabbccdd");
        await first.AddRolloutAsync(rollout, CancellationToken.None);

        bool[] moved = await Task.WhenAll(
            first.TransitionAsync(rollout with { Stage = RolloutStage.District }, RolloutState.Running, RolloutStage.Canary, CancellationToken.None),
            second.TransitionAsync(rollout with { State = RolloutState.Halted, HaltReason = HaltReason.FailureThreshold }, RolloutState.Running,
                RolloutStage.Canary, CancellationToken.None));

        Assert.Equal(1, moved.Count(m => m));
        Rollout stored = (await second.FindRolloutAsync("r-2", CancellationToken.None))!;
        Assert.True(moved[0] ? stored.Stage == RolloutStage.District && stored.State == RolloutState.Running : stored.State == RolloutState.Halted);
    }

    private static StoredRelease Release(out byte[] image)
    {
        using ReleaseKey key = ReleaseKey.Generate();
        byte[] file = TestFirmware.Release(key);
        ReleaseFile parts = ReleaseFile.Read(file)!;
        image = parts.Image;
        ReleaseVerification check = new ReleaseVerifier([key.PublicKey]).Verify(file);
        return new StoredRelease(check.ReleaseId!, check.Manifest!, parts.ManifestBytes, parts.Signature, "central", At);
    }

    private static Rollout Rollout(string id, string releaseId) =>
        new(id, releaseId, RolloutState.Running, RolloutStage.Canary, At, ["0000A001"], "11680", 0.95, 0.05, null, 0, 1, "central", At, At);

    private static DeviceFirmware Report(string state, string? reason, DateTimeOffset at) =>
        new("0000A001", "gw-a", "1.0.0", "1.0.0", "home-bell", "00112233aabbccdd", "r-1", state, reason, 0, 5, at);
}
