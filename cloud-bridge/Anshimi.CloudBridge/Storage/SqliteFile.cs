using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Anshimi.CloudBridge.Storage;

/// <summary>
/// One of the bridge's SQLite files in the data directory: put in WAL mode with its schema when constructed,
/// and opened with the same per-connection pragmas every time. Times are stored as ISO-8601 UTC text.
/// </summary>
internal sealed class SqliteFile
{
    private readonly string _connectionString;
    private readonly string _pragmas;

    /// <param name="schema">DDL run in order at start (CREATE ... IF NOT EXISTS), so existing files open unchanged.</param>
    public SqliteFile(string dataDirectory, string fileName, SqliteSynchronous synchronous, bool foreignKeys, params IEnumerable<string> schema)
    {
        Directory.CreateDirectory(dataDirectory);
        DatabasePath = Path.GetFullPath(Path.Combine(dataDirectory, fileName));
        _connectionString = new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = true }.ToString();

        // synchronous and foreign_keys are per connection, so every Open sets them again. The bundled SQLite
        // already starts with foreign keys on; a store that relies on them says so rather than on that default.
        // busy_timeout lets SQLite wait out another writer in millisecond steps instead of the driver's 150 ms retry sleep.
        _pragmas = (synchronous == SqliteSynchronous.Full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;")
            + " PRAGMA busy_timeout=30000;"
            + (foreignKeys ? " PRAGMA foreign_keys=ON;" : "");
        using SqliteConnection connection = Open();
        Execute(connection, "PRAGMA journal_mode=WAL;");
        foreach (string ddl in schema)
        {
            Execute(connection, ddl);
        }
    }

    public string DatabasePath { get; }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, _pragmas);
        return connection;
    }

    public static SqliteCommand Command(SqliteConnection connection, string sql)
    {
        SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = Command(connection, sql);
        command.ExecuteNonQuery();
    }

    /// <summary>Every row of <paramref name="query"/>, in order, made by <paramref name="read"/>.</summary>
    public static async Task<List<T>> ReadAllAsync<T>(SqliteCommand query, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>The first row of <paramref name="query"/>, or null when it has none.</summary>
    public static async Task<T?> ReadFirstAsync<T>(SqliteCommand query, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
        where T : class
    {
        await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? read(reader) : null;
    }

    /// <summary>UTC with a fixed-width fraction, so stored times compare in SQL as text.</summary>
    public static string Text(DateTimeOffset time) => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    public static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
