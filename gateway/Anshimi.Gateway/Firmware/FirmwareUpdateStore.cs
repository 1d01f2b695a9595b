using Anshimi.Gateway.Storage;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Firmware;

/// <summary>A release the gateway serves: its manifest and signature as offered, and when the offer ends.</summary>
public sealed record StoredFirmwareRelease(string ReleaseId, byte[] Manifest, byte[] Signature, DateTimeOffset ExpiresAt);

/// <summary>One device's part in an offer: where it stands, so a restarted gateway carries on from there.</summary>
public sealed record StoredFirmwareOffer(uint DeviceId, string? RolloutId, string ReleaseId, byte State, bool Final, bool Cancelled, DateTimeOffset? TrialSince);

/// <summary>
/// A device's firmware as the installer sees it: the latest <c>firmware-state</c> the gateway sent (or holds) for it,
/// the same report the cloud's console shows; the running version is the last one any report carried.
/// </summary>
public sealed record DeviceFirmwareState(
    string DeviceId, string? RunningVersion, string State, string? Reason, string? ReleaseId, string? RolloutId, int ChunksDone, int ChunkCount, DateTimeOffset At);

/// <summary>
/// The gateway's firmware updates in their own tables of <c>gateway.db</c>: <c>firmware_releases</c> and
/// <c>firmware_offers</c> (an offer in progress survives a restart) and <c>firmware_states</c> (each device's latest
/// state report). Written as each changes; the chunks themselves stay in <c>DataDirectory/firmware/{releaseId}/</c>.
/// </summary>
public sealed class FirmwareUpdateStore(GatewayDatabase database)
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS firmware_releases (
            release_id TEXT    PRIMARY KEY,
            manifest   BLOB    NOT NULL,
            signature  BLOB    NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS firmware_offers (
            device_id   INTEGER PRIMARY KEY,
            rollout_id  TEXT,
            release_id  TEXT    NOT NULL,
            state       INTEGER NOT NULL,
            final       INTEGER NOT NULL,
            cancelled   INTEGER NOT NULL,
            trial_since INTEGER
        );
        CREATE TABLE IF NOT EXISTS firmware_states (
            device_id       TEXT    PRIMARY KEY,
            running_version TEXT,
            state           TEXT    NOT NULL,
            reason          TEXT,
            release_id      TEXT,
            rollout_id      TEXT,
            chunks_done     INTEGER NOT NULL,
            chunk_count     INTEGER NOT NULL,
            at              INTEGER NOT NULL
        );
        """;

    private readonly SemaphoreSlim _createGate = new(1, 1);
    private bool _created;

    public async Task SaveReleaseAsync(StoredFirmwareRelease release, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(release);
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO firmware_releases (release_id, manifest, signature, expires_at) VALUES ($id, $manifest, $signature, $expires)
            ON CONFLICT (release_id) DO UPDATE SET expires_at = excluded.expires_at;
            """;
        command.Parameters.AddWithValue("$id", release.ReleaseId);
        command.Parameters.AddWithValue("$manifest", release.Manifest);
        command.Parameters.AddWithValue("$signature", release.Signature);
        command.Parameters.AddWithValue("$expires", release.ExpiresAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task SaveOfferAsync(StoredFirmwareOffer offer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(offer);
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            INSERT OR REPLACE INTO firmware_offers (device_id, rollout_id, release_id, state, final, cancelled, trial_since)
            VALUES ($device, $rollout, $release, $state, $final, $cancelled, $trial);
            """;
        command.Parameters.AddWithValue("$device", (long)offer.DeviceId);
        command.Parameters.AddWithValue("$rollout", (object?)offer.RolloutId ?? DBNull.Value);
        command.Parameters.AddWithValue("$release", offer.ReleaseId);
        command.Parameters.AddWithValue("$state", (int)offer.State);
        command.Parameters.AddWithValue("$final", offer.Final ? 1 : 0);
        command.Parameters.AddWithValue("$cancelled", offer.Cancelled ? 1 : 0);
        command.Parameters.AddWithValue("$trial", offer.TrialSince is { } since ? since.ToUnixTimeMilliseconds() : DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The releases with an offer not yet final or cancelled, and those offers.</summary>
    public async Task<(IReadOnlyList<StoredFirmwareRelease> Releases, IReadOnlyList<StoredFirmwareOffer> Offers)> LoadOpenAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        var offers = new List<StoredFirmwareOffer>();
        await using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = "SELECT device_id, rollout_id, release_id, state, final, cancelled, trial_since FROM firmware_offers WHERE final = 0 AND cancelled = 0;";
            await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                offers.Add(new StoredFirmwareOffer(
                    (uint)reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), (byte)reader.GetInt32(3),
                    reader.GetInt32(4) != 0, reader.GetInt32(5) != 0, reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
            }
        }

        var releases = new List<StoredFirmwareRelease>();
        await using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT release_id, manifest, signature, expires_at FROM firmware_releases
                WHERE release_id IN (SELECT release_id FROM firmware_offers WHERE final = 0 AND cancelled = 0);
                """;
            await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                releases.Add(new StoredFirmwareRelease(reader.GetString(0), (byte[])reader[1], (byte[])reader[2], DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
            }
        }

        return (releases, offers);
    }

    /// <summary>Keeps a state report as the device's latest; a report without a version keeps the one known.</summary>
    public async Task SaveStateAsync(FirmwareStateEnvelope report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO firmware_states (device_id, running_version, state, reason, release_id, rollout_id, chunks_done, chunk_count, at)
            VALUES ($device, $version, $state, $reason, $release, $rollout, $done, $count, $at)
            ON CONFLICT (device_id) DO UPDATE SET
                running_version = coalesce(excluded.running_version, running_version), state = excluded.state, reason = excluded.reason,
                release_id = excluded.release_id, rollout_id = excluded.rollout_id, chunks_done = excluded.chunks_done,
                chunk_count = excluded.chunk_count, at = excluded.at;
            """;
        command.Parameters.AddWithValue("$device", report.DeviceId);
        command.Parameters.AddWithValue("$version", (object?)report.RunningVersion ?? DBNull.Value);
        command.Parameters.AddWithValue("$state", report.State);
        command.Parameters.AddWithValue("$reason", (object?)report.Reason ?? DBNull.Value);
        command.Parameters.AddWithValue("$release", (object?)report.ReleaseId ?? DBNull.Value);
        command.Parameters.AddWithValue("$rollout", (object?)report.RolloutId ?? DBNull.Value);
        command.Parameters.AddWithValue("$done", report.ChunksDone);
        command.Parameters.AddWithValue("$count", report.ChunkCount);
        command.Parameters.AddWithValue("$at", report.At.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<DeviceFirmwareState>> StatesAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT device_id, running_version, state, reason, release_id, rollout_id, chunks_done, chunk_count, at FROM firmware_states ORDER BY device_id;";
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var states = new List<DeviceFirmwareState>();
        while (await reader.ReadAsync(cancellationToken))
        {
            states.Add(new DeviceFirmwareState(
                reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt32(6), reader.GetInt32(7),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8))));
        }

        return states;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        SqliteConnection connection = await database.OpenAsync(cancellationToken);
        if (_created)
        {
            return connection;
        }

        await _createGate.WaitAsync(cancellationToken);
        try
        {
            if (!_created)
            {
                await using SqliteCommand create = connection.CreateCommand();
                create.CommandText = Schema;
                await create.ExecuteNonQueryAsync(cancellationToken);
                _created = true;
            }
        }
        finally
        {
            _createGate.Release();
        }

        return connection;
    }
}
