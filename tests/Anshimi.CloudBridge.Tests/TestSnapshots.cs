using Anshimi.CloudBridge.Alarms;
using Microsoft.Data.Sqlite;

namespace Anshimi.CloudBridge.Tests;

/// <summary>Writes snapshots the way the snapshot store does: snapshots.db, table snapshots, times in Unix ms.</summary>
public static class TestSnapshots
{
    /// <summary>A valid 1×1 PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    public static void Write(string dataDirectory, string key, string deviceId, byte[] data, DateTimeOffset receivedAt)
    {
        string path = Path.Combine(dataDirectory, SqliteSnapshotReader.FileName);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS snapshots (key TEXT PRIMARY KEY, device_id TEXT, content_type TEXT, sha256 TEXT, data BLOB,
                taken_at INTEGER, received_at INTEGER);
            INSERT INTO snapshots VALUES ($key, $device, 'image/png', $sha, $data, $at, $at);
            """;
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$device", deviceId);
        command.Parameters.AddWithValue("$sha", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)));
        command.Parameters.AddWithValue("$data", data);
        command.Parameters.AddWithValue("$at", receivedAt.ToUnixTimeMilliseconds());
        command.ExecuteNonQuery();
    }
}
