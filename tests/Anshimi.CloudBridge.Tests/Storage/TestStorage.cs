using Anshimi.CloudBridge.Storage;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// Where a test's stores keep their tables, on the engine under test: a fresh SQLite data directory, or a fresh database
/// on the test run's PostgreSQL server (<see cref="PostgresServer.Shared"/>). Each <see cref="Open"/> is what one bridge
/// instance opens: its own connection pool on the same tables, migrated by the bridge's own migrations.
/// </summary>
public sealed class TestStorage : IAsyncDisposable
{
    private readonly List<StoreDatabase> _open = [];

    private TestStorage(StorageOptions options, string dataDirectory)
    {
        Options = options;
        DataDirectory = dataDirectory;
    }

    public StorageOptions Options { get; }

    public StorageProvider Provider => Options.Provider;

    /// <summary>The data directory of a bridge on this storage (on SQLite, where the store files are).</summary>
    public string DataDirectory { get; }

    /// <summary>The bridge's settings for this storage, for <see cref="CloudBridgeHost.StartAsync"/>.</summary>
    public IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Storage:Provider"] = Provider.ToString(),
        ["Storage:ConnectionString"] = Options.ConnectionString,
    };

    public static async Task<TestStorage> CreateAsync(StorageProvider provider)
    {
        string directory = Directory.CreateTempSubdirectory("stores-").FullName;
        if (provider == StorageProvider.Sqlite)
        {
            return new TestStorage(new StorageOptions(), directory);
        }

        PostgresServer server = await PostgresServer.Shared;
        string connectionString = await server.CreateDatabaseAsync("stores");
        return new TestStorage(new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = connectionString }, directory);
    }

    /// <summary>Opens <paramref name="file"/> as one more bridge instance would; closed with this storage.</summary>
    public StoreDatabase Open(StoreFile file)
    {
        StoreDatabase database = StoreDatabase.Open(Options, DataDirectory, file);
        lock (_open)
        {
            _open.Add(database);
        }

        return database;
    }

    /// <summary>A store file of a bridge on SQLite in <paramref name="dataDirectory"/>, opened from outside the bridge (another process would).</summary>
    public static StoreDatabase OpenSqlite(string dataDirectory, StoreFile file) => StoreDatabase.Open(new StorageOptions(), dataDirectory, file);

    public ValueTask DisposeAsync()
    {
        foreach (StoreDatabase database in _open)
        {
            database.Dispose();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
