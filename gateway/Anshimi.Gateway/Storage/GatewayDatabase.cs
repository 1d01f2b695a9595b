using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Storage;

/// <summary>
/// The gateway's SQLite file: device registry, alarms, device health and the upstream outboxes. WAL with
/// synchronous=FULL, so a committed transaction survives a power cut or SIGKILL.
/// </summary>
public sealed class GatewayDatabase
{
    private const int SchemaVersion = 2;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS devices (
            id                INTEGER PRIMARY KEY,
            key               BLOB    NOT NULL,
            profile           TEXT    NOT NULL,
            site_kind         TEXT    NOT NULL,
            site_lat          REAL    NOT NULL,
            site_lon          REAL    NOT NULL,
            site_address      TEXT    NOT NULL,
            district_code     TEXT,
            highest_counter   INTEGER NOT NULL DEFAULT 0,
            heartbeat_counter INTEGER NOT NULL DEFAULT 0,
            downlink_counter  INTEGER NOT NULL DEFAULT 0,
            last_seen         INTEGER,
            state             TEXT    NOT NULL DEFAULT 'active',
            site_ref          TEXT,
            firmware_version  TEXT,
            claimed_at        INTEGER,
            replaced_by       INTEGER,
            battery_percent   INTEGER,
            health_flags      INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS alarms (
            device_id    INTEGER NOT NULL,
            counter      INTEGER NOT NULL,
            event_code   INTEGER NOT NULL,
            qualifier    INTEGER NOT NULL,
            zone         INTEGER NOT NULL,
            frame        BLOB    NOT NULL,
            received_at  INTEGER NOT NULL,
            stage        INTEGER NOT NULL,
            receipted_at INTEGER,
            test         INTEGER NOT NULL DEFAULT 0,
            traceparent  TEXT,
            PRIMARY KEY (device_id, counter)
        );
        CREATE TABLE IF NOT EXISTS outbox (
            seq             INTEGER PRIMARY KEY AUTOINCREMENT,
            device_id       INTEGER NOT NULL,
            counter         INTEGER NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            UNIQUE (device_id, counter)
        );
        CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at);
        CREATE TABLE IF NOT EXISTS device_health (
            device_id       INTEGER PRIMARY KEY,
            silent          INTEGER NOT NULL DEFAULT 0,
            low_battery     INTEGER NOT NULL DEFAULT 0,
            tamper          INTEGER NOT NULL DEFAULT 0,
            mains_lost      INTEGER NOT NULL DEFAULT 0,
            lamp_fault      INTEGER NOT NULL DEFAULT 0,
            battery_percent INTEGER,
            updated_at      INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS troubles (
            seq             INTEGER PRIMARY KEY AUTOINCREMENT,
            device_id       INTEGER NOT NULL,
            code            INTEGER NOT NULL,
            qualifier       INTEGER NOT NULL,
            detected_at     INTEGER NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER,
            receipted_at    INTEGER
        );
        CREATE INDEX IF NOT EXISTS troubles_due ON troubles (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS troubles_pending_condition ON troubles (device_id, code, seq) WHERE next_attempt_at IS NOT NULL;
        """;

    /// <summary>
    /// Columns added after version 1, by table: a file from an older gateway gains them with their
    /// defaults (existing devices were provisioned from the fleet file, so they are active).
    /// </summary>
    private static readonly (string Table, string Column, string Definition)[] AddedColumns =
    [
        ("devices", "state", "TEXT NOT NULL DEFAULT 'active'"),
        ("devices", "site_ref", "TEXT"),
        ("devices", "firmware_version", "TEXT"),
        ("devices", "claimed_at", "INTEGER"),
        ("devices", "replaced_by", "INTEGER"),
        ("devices", "battery_percent", "INTEGER"),
        ("devices", "health_flags", "INTEGER NOT NULL DEFAULT 0"),
        ("devices", "purged_counter", "INTEGER NOT NULL DEFAULT 0"),
        ("alarms", "test", "INTEGER NOT NULL DEFAULT 0"),
        ("alarms", "traceparent", "TEXT"),
        ("devices", "frame_version", "INTEGER NOT NULL DEFAULT 1"),
        ("devices", "uplink_epoch", "INTEGER NOT NULL DEFAULT 0"),
        ("devices", "rekey_epoch", "INTEGER NOT NULL DEFAULT 0"),
    ];

    private const string BusyAndDurable = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;";

    private readonly string _connectionString;

    public GatewayDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,

            // Busy timeout: writers from different services wait for each other instead of failing.
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>Creates the directory, the file and the schema; idempotent.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        string? directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using (SqliteCommand wal = connection.CreateCommand())
        {
            // WAL is a property of the file; set once, it stays.
            wal.CommandText = "PRAGMA journal_mode=WAL;";
            await wal.ExecuteNonQueryAsync(cancellationToken);
        }

        await using SqliteTransaction transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = Schema;
        await command.ExecuteNonQueryAsync(cancellationToken);
        await MigrateAsync(connection, transaction, cancellationToken);
        command.CommandText = "PRAGMA user_version = " + SchemaVersion + ";";
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Adds the columns an older file lacks, in the same transaction as the rest of the schema.</summary>
    private static async Task MigrateAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        foreach ((string table, string column, string definition) in AddedColumns)
        {
            await using SqliteCommand probe = connection.CreateCommand();
            probe.Transaction = transaction;
            probe.CommandText = "SELECT count(*) FROM pragma_table_info($table) WHERE name = $column;";
            probe.Parameters.AddWithValue("$table", table);
            probe.Parameters.AddWithValue("$column", column);
            if (Convert.ToInt64(await probe.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0)
            {
                continue;
            }

            await using SqliteCommand alter = connection.CreateCommand();
            alter.Transaction = transaction;
            alter.CommandText = "ALTER TABLE " + table + " ADD COLUMN " + column + " " + definition + ";";
            await alter.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Opens a pooled connection with the durability settings applied.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using SqliteCommand command = connection.CreateCommand();

            // synchronous is per connection: FULL fsyncs the WAL on every commit. busy_timeout lets
            // SQLite's own handler wait out another writer in millisecond steps; left to the driver,
            // each collision costs a 150 ms retry sleep on the alarm path.
            command.CommandText = BusyAndDurable;
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Synchronous <see cref="OpenAsync"/>, for callers that cannot await (metric gauges).</summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = BusyAndDurable;
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies the WAL into the main file and empties it, then closes the idle pooled connections: what is left on
    /// disk is one self-contained file, as before a power cut.
    /// </summary>
    public async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        await using (SqliteConnection connection = await OpenAsync(cancellationToken))
        {
            await using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
    }

    /// <summary>A transaction that takes the write lock at once, so read-then-write cannot race another writer.</summary>
    public static SqliteTransaction BeginWrite(SqliteConnection connection) => connection.BeginTransaction(deferred: false);
}
