using System.Globalization;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol.Upstream.Provisioning;
using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Tests.Storage;

/// <summary>A registry file written by the first schema opens under the current one with nothing lost.</summary>
public sealed class GatewayDatabaseMigrationTests : IDisposable
{
    /// <summary>Schema version 1, as the first gateway release created it.</summary>
    private const string SchemaV1 = """
        CREATE TABLE devices (
            id INTEGER PRIMARY KEY, key BLOB NOT NULL, profile TEXT NOT NULL, site_kind TEXT NOT NULL,
            site_lat REAL NOT NULL, site_lon REAL NOT NULL, site_address TEXT NOT NULL, district_code TEXT,
            highest_counter INTEGER NOT NULL DEFAULT 0, heartbeat_counter INTEGER NOT NULL DEFAULT 0,
            downlink_counter INTEGER NOT NULL DEFAULT 0, last_seen INTEGER);
        CREATE TABLE alarms (
            device_id INTEGER NOT NULL, counter INTEGER NOT NULL, event_code INTEGER NOT NULL, qualifier INTEGER NOT NULL,
            zone INTEGER NOT NULL, frame BLOB NOT NULL, received_at INTEGER NOT NULL, stage INTEGER NOT NULL,
            receipted_at INTEGER, PRIMARY KEY (device_id, counter));
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, device_id INTEGER NOT NULL, counter INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, UNIQUE (device_id, counter));
        INSERT INTO devices VALUES (41394, x'0102', 'home-panic', 'home', 37.5665, 126.978, 'Jung-gu', '11140', 7, 9, 3, 1700000000000);
        INSERT INTO alarms VALUES (41394, 7, 120, 1, 1, x'11', 1700000000000, 1, NULL);
        INSERT INTO outbox (device_id, counter, next_attempt_at) VALUES (41394, 7, 1700000000000);
        PRAGMA user_version = 1;
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("anshimi-migrate-").FullName;

    [Fact]
    public async Task A_version_1_file_gains_the_new_columns_and_keeps_every_row()
    {
        string path = Path.Combine(_directory, "gateway.db");
        Execute(path, SchemaV1);

        var database = new GatewayDatabase(path);
        await database.InitializeAsync(CancellationToken.None);
        await database.InitializeAsync(CancellationToken.None);

        Assert.Equal("2", Scalar(path, "PRAGMA user_version;"));
        Assert.Equal("active|2|7|9|3|1700000000000|0", Scalar(path, "SELECT printf('%s|%d|%d|%d|%d|%d|%d', state, length(key), highest_counter, heartbeat_counter, downlink_counter, last_seen, health_flags) FROM devices;"));
        Assert.Equal("0|1", Scalar(path, "SELECT printf('%d|%d', test, (SELECT count(*) FROM outbox)) FROM alarms;"));

        // The migrated device still loads into the pipeline, with its counters.
        var registry = new DeviceRegistry(database);
        await registry.LoadAsync(CancellationToken.None);
        Assert.True(registry.TryGet(41394, out DeviceEntry device));
        Assert.Equal(7u, device.HighestCounter);

        // A reseed never revives a revoked device.
        Execute(path, "UPDATE devices SET state = 'replaced', key = x'';");
        await registry.SeedAsync(new FleetFile("gw", [new TestDevice(41394, 5).Record]), CancellationToken.None);
        Assert.Equal("replaced|0", Scalar(path, "SELECT printf('%s|%d', state, length(key)) FROM devices;"));
        await registry.LoadAsync(CancellationToken.None);
        Assert.False(registry.TryGet(41394, out _));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static void Execute(string path, string sql)
    {
        using var connection = new SqliteConnection("Data Source=" + path + ";Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static string Scalar(string path, string sql)
    {
        using var connection = new SqliteConnection("Data Source=" + path + ";Mode=ReadOnly;Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture)!;
    }
}
