using Microsoft.Data.Sqlite;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// Reads snapshots from <c>snapshots.db</c> in the data directory, table
/// <c>snapshots(key TEXT PRIMARY KEY, device_id TEXT, content_type TEXT, sha256 TEXT, data BLOB, taken_at INTEGER,
/// received_at INTEGER)</c> with times in Unix milliseconds, as the snapshot store writes it. A missing file or
/// table means no snapshot yet.
/// </summary>
public sealed class SqliteSnapshotReader : ISnapshotReader
{
    public const string FileName = "snapshots.db";

    private readonly string _path;

    public SqliteSnapshotReader(string dataDirectory)
    {
        _path = Path.GetFullPath(Path.Combine(dataDirectory, FileName));
    }

    public async Task<SnapshotImage?> FindAsync(string alarmKey, CancellationToken cancellationToken)
    {
        if (!File.Exists(_path))
        {
            return null;
        }

        string connectionString = new SqliteConnectionStringBuilder { DataSource = _path, Mode = SqliteOpenMode.ReadOnly, Pooling = true }.ToString();
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        using SqliteCommand query = connection.CreateCommand();
        query.CommandText = """
            SELECT key, device_id, content_type, sha256, data, taken_at, received_at FROM snapshots WHERE key = $key;
            """;
        query.Parameters.AddWithValue("$key", alarmKey);
        try
        {
            await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            return new SnapshotImage(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                (byte[])reader.GetValue(4),
                ReadTime(reader.GetValue(5)),
                ReadTime(reader.GetValue(6)));
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 1 && ex.Message.Contains("no such table", StringComparison.Ordinal))
        {
            return null;
        }
    }

    /// <summary>The snapshot store writes ISO-8601 UTC text; Unix milliseconds are read too.</summary>
    private static DateTimeOffset ReadTime(object value) => value is long milliseconds
        ? DateTimeOffset.FromUnixTimeMilliseconds(milliseconds)
        : DateTimeOffset.Parse((string)value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
}
