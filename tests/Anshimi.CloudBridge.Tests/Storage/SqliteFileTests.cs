using Anshimi.CloudBridge.Storage;
using Microsoft.Data.Sqlite;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>A store's file is in WAL mode with its schema, and every connection carries the store's pragmas.</summary>
public sealed class SqliteFileTests : IDisposable
{
    private const string Schema = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);";

    private readonly string _directory = Path.Combine(Directory.CreateTempSubdirectory("sqlite-file-").FullName, "data");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Path.GetDirectoryName(_directory)!, recursive: true);
    }

    [Fact]
    public async Task A_new_file_is_created_in_its_directory_in_wal_mode_with_its_schema()
    {
        var file = new SqliteFile(_directory, "notes.db", SqliteSynchronous.Full, foreignKeys: false, Schema);

        Assert.Equal(Path.Combine(_directory, "notes.db"), file.DatabasePath);
        await using var plain = new SqliteConnection("Data Source=" + file.DatabasePath);
        await plain.OpenAsync();
        Assert.Equal("wal", await ScalarAsync(plain, "PRAGMA journal_mode;"));
        Assert.Equal(1L, await ScalarAsync(plain, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'notes';"));
    }

    [Theory]
    [InlineData(true, 2L)]
    [InlineData(false, 1L)]
    public async Task Every_connection_gets_the_files_synchronous_level_and_busy_timeout(bool fullSync, long expectedSynchronous)
    {
        var file = new SqliteFile(_directory, "notes.db", fullSync ? SqliteSynchronous.Full : SqliteSynchronous.Normal, foreignKeys: false, Schema);

        await using SqliteConnection connection = file.Open();

        Assert.Equal(expectedSynchronous, await ScalarAsync(connection, "PRAGMA synchronous;"));
        Assert.Equal(30000L, await ScalarAsync(connection, "PRAGMA busy_timeout;"));
    }

    [Fact]
    public async Task A_file_that_asks_for_foreign_keys_enforces_them()
    {
        var file = new SqliteFile(_directory, "notes.db", SqliteSynchronous.Full, foreignKeys: true,
            Schema, "CREATE TABLE IF NOT EXISTS tags (note_id INTEGER NOT NULL REFERENCES notes(id));");

        await using SqliteConnection connection = file.Open();

        Assert.Equal(1L, await ScalarAsync(connection, "PRAGMA foreign_keys;"));
        SqliteException refused = Assert.Throws<SqliteException>(() => SqliteFile.Execute(connection, "INSERT INTO tags (note_id) VALUES (7);"));
        Assert.Contains("FOREIGN KEY", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reopening_an_existing_file_keeps_its_rows_and_reads_them_in_order()
    {
        var first = new SqliteFile(_directory, "notes.db", SqliteSynchronous.Full, foreignKeys: false, Schema);
        await using (SqliteConnection connection = first.Open())
        {
            SqliteFile.Execute(connection, "INSERT INTO notes (body) VALUES ('a'), ('b');");
        }

        var again = new SqliteFile(_directory, "notes.db", SqliteSynchronous.Full, foreignKeys: false, Schema);
        await using SqliteConnection reopened = again.Open();
        using SqliteCommand all = SqliteFile.Command(reopened, "SELECT body FROM notes ORDER BY id;");
        using SqliteCommand none = SqliteFile.Command(reopened, "SELECT body FROM notes WHERE id = 99;");

        Assert.Equal(["a", "b"], await SqliteFile.ReadAllAsync(all, r => r.GetString(0), CancellationToken.None));
        Assert.Null(await SqliteFile.ReadFirstAsync(none, r => r.GetString(0), CancellationToken.None));
    }

    [Fact]
    public void Times_are_stored_as_utc_text_and_read_back_as_the_same_instant()
    {
        var seoul = new DateTimeOffset(2026, 11, 22, 9, 30, 0, 123, TimeSpan.FromHours(9));

        string text = SqliteFile.Text(seoul);

        Assert.Equal("2026-11-22T00:30:00.1230000+00:00", text);
        Assert.Equal(seoul, SqliteFile.Time(text));
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = SqliteFile.Command(connection, sql);
        return await command.ExecuteScalarAsync();
    }
}
