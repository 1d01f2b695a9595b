using System.Data.Common;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol.Ota;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

namespace Anshimi.CloudBridge.Firmware;

/// <summary>
/// Releases, rollouts and device update states (store file <see cref="StoreFile.Firmware"/>). Every change of a rollout's
/// state or stage is a conditional update on the state and stage it was read in, so of two bridge instances acting on
/// one rollout exactly one moves it.
/// </summary>
public sealed class FirmwareStore(StoreDatabase database)
{
    private const string RolloutColumns =
        "rollout_id, release_id, state, stage, stage_started_at, canary, district_code, success_threshold, failure_threshold, halt_reason, " +
        "baseline_failures, baseline_open, created_by, created_at, updated_at";

    private const string DeviceColumns = "rollout_id, device_id, stage, gateway_id, state, reason, final, offered_at, updated_at";

    private const string FirmwareColumns =
        "device_id, gateway_id, running_version, floor, board, release_id, rollout_id, state, reason, chunks_done, chunk_count, reported_at";

    /// <summary>Keeps a verified release and its image chunk by chunk; false when it is already kept.</summary>
    public Task<bool> AddReleaseAsync(StoredRelease release, byte[] image, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
        {
            if (await ExecuteAsync(connection, """
                INSERT INTO firmware_releases (release_id, version, manifest, signature, uploaded_by, uploaded_at)
                VALUES (@id, @version, @manifest, @signature, @by, @at) ON CONFLICT (release_id) DO NOTHING;
                """, ct, ("id", release.ReleaseId), ("version", release.Manifest.Version.ToString()), ("manifest", release.ManifestBytes),
                ("signature", release.Signature), ("by", release.UploadedBy), ("at", Text(release.UploadedAt))) == 0)
            {
                return false;
            }

            ReleaseManifest manifest = release.Manifest;
            for (int i = 0; i < manifest.ChunkCount; i++)
            {
                await ExecuteAsync(connection, "INSERT INTO firmware_chunks (release_id, chunk_index, data) VALUES (@id, @index, @data);", ct,
                    ("id", release.ReleaseId), ("index", i), ("data", image.AsSpan(i * manifest.ChunkSize, manifest.ChunkLength(i)).ToArray()));
            }

            return true;
        }, cancellationToken);

    public Task<StoredRelease?> FindReleaseAsync(string releaseId, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection,
                "SELECT release_id, manifest, signature, uploaded_by, uploaded_at FROM firmware_releases WHERE release_id = @id;", ("id", releaseId));
            return await ReadFirstAsync(query, ReadRelease, ct);
        }, cancellationToken);

    public Task<List<StoredRelease>> ListReleasesAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection,
                "SELECT release_id, manifest, signature, uploaded_by, uploaded_at FROM firmware_releases ORDER BY uploaded_at DESC;");
            return await ReadAllAsync(query, ReadRelease, ct);
        }, cancellationToken);

    public Task<byte[]?> ReadChunkAsync(string releaseId, int index, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT data FROM firmware_chunks WHERE release_id = @id AND chunk_index = @index;",
                ("id", releaseId), ("index", index));
            return await ReadFirstAsync(query, r => (byte[])r[0], ct);
        }, cancellationToken);

    /// <summary>True when the release was offered to a device bound to <paramref name="gatewayId"/>: only then may it fetch the image.</summary>
    public Task<bool> WasOfferedToAsync(string releaseId, string gatewayId, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, """
                SELECT COUNT(*) FROM firmware_rollout_devices d JOIN firmware_rollouts r ON r.rollout_id = d.rollout_id
                WHERE r.release_id = @release AND d.gateway_id = @gateway;
                """, ("release", releaseId), ("gateway", gatewayId));
            return await ScalarInt64Async(query, ct) > 0;
        }, cancellationToken);

    /// <summary>
    /// Records a device's report: its latest state (an older report never replaces a newer one) and, when it answers a
    /// rollout's offer, the device's row in that rollout, unless the row is already final.
    /// </summary>
    public Task RecordStateAsync(DeviceFirmware report, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
        {
            await ExecuteAsync(connection, $"""
                INSERT INTO device_firmware ({FirmwareColumns}, received_at)
                VALUES (@device, @gateway, @running, @floor, @board, @release, @rollout, @state, @reason, @done, @count, @at, @received)
                ON CONFLICT (device_id) DO UPDATE SET gateway_id = excluded.gateway_id, running_version = excluded.running_version,
                    floor = excluded.floor, board = excluded.board, release_id = excluded.release_id, rollout_id = excluded.rollout_id,
                    state = excluded.state, reason = excluded.reason, chunks_done = excluded.chunks_done, chunk_count = excluded.chunk_count,
                    reported_at = excluded.reported_at, received_at = excluded.received_at
                WHERE device_firmware.reported_at <= excluded.reported_at;
                """, ct, ("device", report.DeviceId), ("gateway", report.GatewayId), ("running", report.RunningVersion), ("floor", report.Floor),
                ("board", report.Board), ("release", report.ReleaseId), ("rollout", report.RolloutId), ("state", report.State), ("reason", report.Reason),
                ("done", report.ChunksDone), ("count", report.ChunkCount), ("at", Text(report.ReportedAt)), ("received", Text(receivedAt)));
            if (report.ReleaseId is null)
            {
                return;
            }

            // A report names its rollout when the gateway knows it; otherwise it answers every rollout of the release.
            string rolloutFilter = report.RolloutId is null ? "" : " AND rollout_id = @rollout";
            await ExecuteAsync(connection, $"""
                UPDATE firmware_rollout_devices SET state = @state, reason = @reason, final = @final, updated_at = @received
                WHERE device_id = @device AND final = 0{rolloutFilter}
                  AND rollout_id IN (SELECT rollout_id FROM firmware_rollouts WHERE release_id = @release);
                """, ct, ("state", report.State), ("reason", report.Reason), ("final", RolloutDevice.IsFinal(report.State, report.Reason) ? 1 : 0),
                ("received", Text(receivedAt)), ("device", report.DeviceId), ("rollout", report.RolloutId ?? ""), ("release", report.ReleaseId));
        }, cancellationToken);

    public Task<List<DeviceFirmware>> ListDeviceFirmwareAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"SELECT {FirmwareColumns} FROM device_firmware ORDER BY device_id;");
            return await ReadAllAsync(query, ReadFirmware, ct);
        }, cancellationToken);

    public Task<DeviceFirmware?> FindDeviceFirmwareAsync(string deviceId, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"SELECT {FirmwareColumns} FROM device_firmware WHERE device_id = @device;", ("device", deviceId));
            return await ReadFirstAsync(query, ReadFirmware, ct);
        }, cancellationToken);

    public Task AddRolloutAsync(Rollout rollout, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
            await ExecuteAsync(connection, $"""
                INSERT INTO firmware_rollouts ({RolloutColumns})
                VALUES (@id, @release, @state, @stage, @stageAt, @canary, @district, @success, @failure, @halt, @baseFailures, @baseOpen, @by, @at, @updated);
                """, ct, RolloutParameters(rollout)), cancellationToken);

    /// <summary>
    /// Replaces the rollout with <paramref name="next"/> only while it is still in <paramref name="state"/> at
    /// <paramref name="stage"/>; false when another action (or instance) moved it first.
    /// </summary>
    public Task<bool> TransitionAsync(Rollout next, string state, int stage, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
            await ExecuteAsync(connection, """
                UPDATE firmware_rollouts SET state = @state, stage = @stage, stage_started_at = @stageAt, halt_reason = @halt,
                    baseline_failures = @baseFailures, baseline_open = @baseOpen, updated_at = @updated
                WHERE rollout_id = @id AND state = @fromState AND stage = @fromStage;
                """, ct, [.. RolloutParameters(next), ("fromState", state), ("fromStage", stage)]) == 1, cancellationToken);

    public Task<Rollout?> FindRolloutAsync(string rolloutId, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"SELECT {RolloutColumns} FROM firmware_rollouts WHERE rollout_id = @id;", ("id", rolloutId));
            return await ReadFirstAsync(query, ReadRollout, ct);
        }, cancellationToken);

    public Task<List<Rollout>> ListRolloutsAsync(string? state, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = state is null
                ? Command(connection, $"SELECT {RolloutColumns} FROM firmware_rollouts ORDER BY created_at DESC;")
                : Command(connection, $"SELECT {RolloutColumns} FROM firmware_rollouts WHERE state = @state ORDER BY created_at;", ("state", state));
            return await ReadAllAsync(query, ReadRollout, ct);
        }, cancellationToken);

    /// <summary>Adds devices to a rollout's stage as <c>pending</c>; a device already in the rollout keeps its row.</summary>
    public Task AddRolloutDevicesAsync(IEnumerable<RolloutDevice> devices, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
        {
            foreach (RolloutDevice device in devices)
            {
                await ExecuteAsync(connection, $"""
                    INSERT INTO firmware_rollout_devices ({DeviceColumns})
                    VALUES (@rollout, @device, @stage, @gateway, @state, @reason, @final, @offered, @updated)
                    ON CONFLICT (rollout_id, device_id) DO NOTHING;
                    """, ct, ("rollout", device.RolloutId), ("device", device.DeviceId), ("stage", device.Stage), ("gateway", device.GatewayId),
                    ("state", device.State), ("reason", device.Reason), ("final", device.Final ? 1 : 0), ("offered", Text(device.OfferedAt)),
                    ("updated", Text(device.UpdatedAt)));
            }
        }, cancellationToken);

    public Task<List<RolloutDevice>> ListRolloutDevicesAsync(string rolloutId, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection,
                $"SELECT {DeviceColumns} FROM firmware_rollout_devices WHERE rollout_id = @id ORDER BY stage, device_id;", ("id", rolloutId));
            return await ReadAllAsync(query, ReadDevice, ct);
        }, cancellationToken);

    public Task MarkOfferedAsync(string rolloutId, IEnumerable<string> deviceIds, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
        {
            foreach (string device in deviceIds)
            {
                await ExecuteAsync(connection, "UPDATE firmware_rollout_devices SET offered_at = @at WHERE rollout_id = @rollout AND device_id = @device;",
                    ct, ("at", Text(at)), ("rollout", rolloutId), ("device", device));
            }
        }, cancellationToken);

    /// <summary>The stage's time ran out: its devices not yet final end as <c>timed-out</c>.</summary>
    public Task<int> TimeOutOpenDevicesAsync(string rolloutId, int stage, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
            await ExecuteAsync(connection, """
                UPDATE firmware_rollout_devices SET state = @state, reason = NULL, final = 1, updated_at = @at
                WHERE rollout_id = @rollout AND stage = @stage AND final = 0;
                """, ct, ("state", RolloutDevice.TimedOut), ("at", Text(at)), ("rollout", rolloutId), ("stage", stage)), cancellationToken);

    /// <summary>On resume: devices that ended <c>cancelled</c> because of the halt are offered again.</summary>
    public Task<int> ReopenCancelledDevicesAsync(string rolloutId, int stage, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
            await ExecuteAsync(connection, """
                UPDATE firmware_rollout_devices SET state = @pending, reason = NULL, final = 0, updated_at = @at
                WHERE rollout_id = @rollout AND stage = @stage AND state = 'cancelled';
                """, ct, ("pending", RolloutDevice.Pending), ("at", Text(at)), ("rollout", rolloutId), ("stage", stage)), cancellationToken);

    private static (string, object?)[] RolloutParameters(Rollout r) =>
    [
        ("id", r.RolloutId), ("release", r.ReleaseId), ("state", r.State), ("stage", r.Stage), ("stageAt", Text(r.StageStartedAt)),
        ("canary", string.Join(",", r.Canary)), ("district", r.DistrictCode), ("success", r.SuccessThreshold), ("failure", r.FailureThreshold),
        ("halt", r.HaltReason), ("baseFailures", r.BaselineFailures), ("baseOpen", r.BaselineOpen), ("by", r.CreatedBy), ("at", Text(r.CreatedAt)),
        ("updated", Text(r.UpdatedAt)),
    ];

    private static StoredRelease ReadRelease(DbDataReader r)
    {
        var manifest = (byte[])r[1];
        return new StoredRelease(r.GetString(0), ReleaseManifest.Read(manifest) ?? throw new InvalidDataException("stored manifest does not parse"),
            manifest, (byte[])r[2], r.GetString(3), Time(r.GetString(4)));
    }

    private static Rollout ReadRollout(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), Time(r.GetString(4)),
        r.GetString(5).Split(',', StringSplitOptions.RemoveEmptyEntries), r.GetString(6), r.GetDouble(7), r.GetDouble(8),
        r.IsDBNull(9) ? null : r.GetString(9), r.GetInt32(10), r.GetInt32(11), r.GetString(12), Time(r.GetString(13)), Time(r.GetString(14)));

    private static RolloutDevice ReadDevice(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetInt32(6) == 1,
        Time(r.GetString(7)), Time(r.GetString(8)));

    private static DeviceFirmware ReadFirmware(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), Nullable(r, 2), Nullable(r, 3), Nullable(r, 4), Nullable(r, 5), Nullable(r, 6), r.GetString(7), Nullable(r, 8),
        r.GetInt32(9), r.GetInt32(10), Time(r.GetString(11)));

    private static string? Nullable(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}
