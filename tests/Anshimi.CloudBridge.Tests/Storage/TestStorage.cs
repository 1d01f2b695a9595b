using Anshimi.CloudBridge.Storage;
using Microsoft.Data.Sqlite;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// Where a store test keeps its tables: a fresh temporary directory for SQLite files, or a fresh database on the
/// shared test PostgreSQL server. Stores open it as the bridge does, through <see cref="StoreDatabase.Open"/> and the
/// migrations; each <see cref="Open"/> is what one bridge instance opens (its own connection pool on the same tables).
/// </summary>
public sealed class TestStorage : IAsyncDisposable
{
    private readonly List<StoreDatabase> _opened = [];

    private TestStorage(StorageOptions options, string dataDirectory, PostgresServer? server)
    {
        Options = options;
        DataDirectory = dataDirectory;
        Server = server;
    }

    public StorageOptions Options { get; }

    public StorageProvider Provider => Options.Provider;

    public string DataDirectory { get; }

    /// <summary>The PostgreSQL server, for the PostgreSQL provider.</summary>
    public PostgresServer? Server { get; }

    /// <summary>The bridge's settings for this storage, for <see cref="CloudBridgeHost.StartAsync"/>.</summary>
    public IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Storage:Provider"] = Provider.ToString(),
        ["Storage:ConnectionString"] = Options.ConnectionString,
    };

    /// <param name="server">PostgreSQL only: this server instead of the shared one (a test that kills it).</param>
    public static async Task<TestStorage> CreateAsync(StorageProvider provider, PostgresServer? server = null)
    {
        string directory = Directory.CreateTempSubdirectory("store-").FullName;
        if (provider == StorageProvider.Sqlite)
        {
            return new TestStorage(new StorageOptions(), directory, null);
        }

        server ??= await PostgresServer.Shared;
        string connectionString = await server.CreateDatabaseAsync("store");
        return new TestStorage(
            new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = connectionString }, directory, server);
    }

    /// <summary>A store file of a bridge on SQLite in <paramref name="dataDirectory"/>, opened from outside the bridge (as another process would).</summary>
    public static StoreDatabase OpenSqlite(string dataDirectory, StoreFile file) => StoreDatabase.Open(new StorageOptions(), dataDirectory, file);

    /// <summary>Opens <paramref name="file"/> with its own connection pool, as one bridge instance would.</summary>
    public StoreDatabase Open(StoreFile file)
    {
        StoreDatabase database = StoreDatabase.Open(Options, DataDirectory, file);
        lock (_opened)
        {
            _opened.Add(database);
        }

        return database;
    }

    public ValueTask DisposeAsync()
    {
        foreach (StoreDatabase database in _opened)
        {
            database.Dispose();
        }

        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A host on this storage may still be closing its files.
        }

        return ValueTask.CompletedTask;
    }
}
