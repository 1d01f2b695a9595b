using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Anshimi.CloudBridge.Storage;

/// <summary>
/// The tables of one <see cref="StoreFile"/>, on SQLite or PostgreSQL: migrated to the current schema when opened, reached
/// through plain ADO.NET connections and commands, every unit of work retried on transient faults
/// (<see cref="TransientFaultRetry"/>). Stores write portable SQL and ask <see cref="Dialect"/> where the two differ.
/// Times are stored as ISO-8601 UTC text (<see cref="Text"/>) in both, so they compare in SQL as text.
/// </summary>
public sealed class StoreDatabase : IDisposable
{
    private readonly DbDataSource _source;
    private readonly string? _onOpen;
    private readonly TransientFaultRetry _retry;
    private readonly string _databaseName;

    private StoreDatabase(SqlDialect dialect, DbDataSource source, string? onOpen, string description, TransientFaultRetry retry)
    {
        Dialect = dialect;
        _source = source;
        _onOpen = onOpen;
        Description = description;
        _retry = retry;
        _databaseName = dialect == SqlDialect.Sqlite ? description : new NpgsqlConnectionStringBuilder(source.ConnectionString).Database!;
    }

    public SqlDialect Dialect { get; }

    /// <summary>The SQLite file's full path, or the PostgreSQL hosts and database (never the password).</summary>
    public string Description { get; }

    /// <summary>
    /// Opens (and migrates) <paramref name="file"/>: <c>{dataDirectory}/{name}.db</c> in WAL mode on SQLite, the configured
    /// database on PostgreSQL. Each call has its own connection pool, as two bridge instances would.
    /// </summary>
    public static StoreDatabase Open(StorageOptions storage, string dataDirectory, StoreFile file)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(file);
        if (storage.Problem() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        TransientFaultRetry retry = TransientFaultRetry.For(storage.RetryFor);
        if (storage.Provider == StorageProvider.PostgreSql)
        {
            var builder = new NpgsqlConnectionStringBuilder(storage.ConnectionString);
            retry.RunAsync(_ => { SchemaMigrations.Run(StorageProvider.PostgreSql, builder.ConnectionString, file); return Task.FromResult(0); }, null, CancellationToken.None)
                .GetAwaiter().GetResult();
            return new StoreDatabase(
                SqlDialect.PostgreSql, NpgsqlDataSource.Create(builder), onOpen: null, $"{builder.Host}/{builder.Database}", retry);
        }

        Directory.CreateDirectory(dataDirectory);
        string path = Path.GetFullPath(Path.Combine(dataDirectory, file.SqliteFileName));
        string connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();

        // synchronous and foreign_keys are per connection, so every open sets them again. busy_timeout lets SQLite
        // wait out another writer in millisecond steps instead of the driver's 150 ms retry sleep.
        string pragmas = (file.Synchronous == SqliteSynchronous.Full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;")
            + " PRAGMA busy_timeout=30000;"
            + (file.ForeignKeys ? " PRAGMA foreign_keys=ON;" : " PRAGMA foreign_keys=OFF;");
        using (var connection = new SqliteConnection(connectionString))
        {
            connection.Open();
            using SqliteCommand wal = connection.CreateCommand();
            wal.CommandText = "PRAGMA journal_mode=WAL;";
            wal.ExecuteNonQuery();
        }

        SchemaMigrations.Run(StorageProvider.Sqlite, connectionString, file);
        return new StoreDatabase(SqlDialect.Sqlite, SqliteFactory.Instance.CreateDataSource(connectionString), pragmas, path, retry);
    }

    /// <summary>Whether <paramref name="connection"/> is one of this database's (so work on it reaches these tables).</summary>
    public bool Owns(DbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return Dialect == SqlDialect.Sqlite
            ? string.Equals(Path.GetFullPath(connection.DataSource), _databaseName, StringComparison.Ordinal)
            : connection is NpgsqlConnection && string.Equals(connection.Database, _databaseName, StringComparison.Ordinal);
    }

    /// <summary>An open connection with the file's settings; most stores use <see cref="ReadAsync"/>/<see cref="WriteAsync"/> instead.</summary>
    public async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        DbConnection connection = await _source.OpenConnectionAsync(cancellationToken);
        if (_onOpen is not null)
        {
            try
            {
                await using DbCommand command = Command(connection, _onOpen);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }

        return connection;
    }

    /// <summary>Runs <paramref name="work"/> on a fresh connection, again from the start after a transient fault.</summary>
    public Task<T> ReadAsync<T>(Func<DbConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _retry.RunAsync(
            async ct =>
            {
                await using DbConnection connection = await OpenConnectionAsync(ct);
                return await work(connection, ct);
            },
            OnFault,
            cancellationToken);
    }

    /// <summary>
    /// One <c>SELECT 1</c> on a fresh connection, never retried: whether the database answers now, for a health probe that
    /// must answer in bounded time while the database is down. Throws the engine's <see cref="DbException"/>.
    /// </summary>
    public async Task ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using DbConnection connection = await OpenConnectionAsync(cancellationToken);
            await using DbCommand command = Command(connection, "SELECT 1;");
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (Exception e) when (TransientFaultRetry.IsTransient(e))
        {
            OnFault(e);
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction and commits it; after a transient fault the whole transaction runs
    /// again, so <paramref name="work"/> must only write to the database (and be idempotent by key, as every store's
    /// writes are: a commit whose answer was lost is repeated).
    /// </summary>
    public Task<T> WriteAsync<T>(Func<DbConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _retry.RunAsync(
            async ct =>
            {
                await using DbConnection connection = await OpenConnectionAsync(ct);
                await using DbTransaction transaction = await connection.BeginTransactionAsync(ct);
                T result = await work(connection, ct);
                await transaction.CommitAsync(ct);
                return result;
            },
            OnFault,
            cancellationToken);
    }

    public Task WriteAsync(Func<DbConnection, CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        return WriteAsync(async (connection, ct) => { await work(connection, ct); return true; }, cancellationToken);
    }

    /// <summary>A command on <paramref name="connection"/> (joining its open transaction) with <c>@name</c> parameters.</summary>
    public static DbCommand Command(DbConnection connection, string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        ArgumentNullException.ThrowIfNull(connection);
        DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        foreach ((string name, object? value) in parameters)
        {
            Add(command, name, value);
        }

        return command;
    }

    /// <summary>Adds <c>@<paramref name="name"/></c>; null becomes SQL NULL.</summary>
    public static DbParameter Add(DbCommand command, string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(name);
        DbParameter parameter = command.CreateParameter();
        parameter.ParameterName = name.StartsWith('@') ? name : "@" + name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    public static async Task<int> ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using DbCommand command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The first column of the first row as a 64-bit integer (SQLite and PostgreSQL answer counts in different types), or null.</summary>
    public static async Task<long?> ScalarInt64Async(DbCommand query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        object? value = await query.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }

    /// <summary>Every row of <paramref name="query"/>, in order, made by <paramref name="read"/>.</summary>
    public static async Task<List<T>> ReadAllAsync<T>(DbCommand query, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(read);
        var rows = new List<T>();
        await using DbDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>The first row of <paramref name="query"/>, or null when it has none.</summary>
    public static async Task<T?> ReadFirstAsync<T>(DbCommand query, Func<DbDataReader, T> read, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(read);
        await using DbDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? read(reader) : null;
    }

    /// <summary>UTC with a fixed-width fraction, so stored times compare in SQL as text.</summary>
    public static string Text(DateTimeOffset time) => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    public static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    public void Dispose() => _source.Dispose();

    // Connections pooled before a server restart or primary switch are all dead: drop them rather than meet them one by one.
    // When no host was even tried, Npgsql still remembers them as down or standby (Host Recheck Seconds, 10 s) and every
    // retry until then would fail unseen: forget that, so the retry asks the restarted or just promoted member again.
    private void OnFault(Exception fault)
    {
        if (_source is NpgsqlDataSource postgres)
        {
            postgres.Clear();
        }

        if (_source is NpgsqlMultiHostDataSource hosts && TransientFaultRetry.FoundNoPrimary(fault))
        {
            hosts.ClearDatabaseStates();
        }
    }
}
