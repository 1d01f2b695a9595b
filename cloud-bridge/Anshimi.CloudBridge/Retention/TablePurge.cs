using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Anshimi.CloudBridge.Retention;

/// <summary>
/// Deletes rows older than a cutoff from a table another part of the bridge owns (the snapshots, whose reader may
/// be replaced), when its file and table exist. The time column may hold Unix milliseconds (INTEGER) or ISO-8601 UTC text.
/// </summary>
public static class TablePurge
{
    public static async Task<int> DeleteOlderThanAsync(string databasePath, string table, string column, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        if (!File.Exists(databasePath))
        {
            return 0;
        }

        string connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true }.ToString();
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        using SqliteCommand pragmas = connection.CreateCommand();
        pragmas.CommandText = "PRAGMA busy_timeout=30000;";
        await pragmas.ExecuteNonQueryAsync(cancellationToken);

        using SqliteCommand exists = connection.CreateCommand();
        exists.CommandText = "SELECT COUNT(*) FROM pragma_table_info($table) WHERE name = $column;";
        exists.Parameters.AddWithValue("$table", table);
        exists.Parameters.AddWithValue("$column", column);
        if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
        {
            return 0;
        }

        // Identifiers come from code, never from input; quoted all the same.
        using SqliteCommand delete = connection.CreateCommand();
        delete.CommandText = $"""
            DELETE FROM "{table}" WHERE (typeof("{column}") = 'integer' AND "{column}" < $ms)
                                     OR (typeof("{column}") = 'text' AND "{column}" < $iso);
            """;
        delete.Parameters.AddWithValue("$ms", cutoff.ToUnixTimeMilliseconds());
        delete.Parameters.AddWithValue("$iso", cutoff.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }
}
