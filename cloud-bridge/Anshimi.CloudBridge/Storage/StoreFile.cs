namespace Anshimi.CloudBridge.Storage;

/// <summary>How far a SQLite COMMIT waits for the disk (<c>PRAGMA synchronous</c>), chosen per file.</summary>
public enum SqliteSynchronous
{
    /// <summary>Survives a process crash; a power cut may lose the last commits (WAL stays consistent).</summary>
    Normal,

    /// <summary>Every COMMIT is durable across power loss, not just process death.</summary>
    Full,
}

/// <summary>
/// One group of tables the stores keep together: one SQLite file (<c>{Name}.db</c>) in the embedded set-up, a set of
/// tables in the shared PostgreSQL database otherwise. <see cref="Name"/> is also the tag of its migrations.
/// </summary>
public sealed record StoreFile(string Name, SqliteSynchronous Synchronous, bool ForeignKeys)
{
    /// <summary>Alarms, their timelines, claims, the ack and upstream outboxes, gateways and the audit log.</summary>
    public static readonly StoreFile Alarms = new("alarms", SqliteSynchronous.Full, ForeignKeys: true);

    public string SqliteFileName => Name + ".db";
}
