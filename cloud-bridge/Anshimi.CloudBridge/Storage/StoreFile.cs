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

    /// <summary>Which gateway speaks for each device: decides whose word counts, so as durable as an alarm.</summary>
    public static readonly StoreFile Bindings = new("bindings", SqliteSynchronous.Full, ForeignKeys: false);

    /// <summary>Devices as their gateways report them, and the troubles gateways detect.</summary>
    public static readonly StoreFile Devices = new("devices", SqliteSynchronous.Full, ForeignKeys: false);

    /// <summary>Doorbell snapshots, by the alarm they belong to.</summary>
    public static readonly StoreFile Snapshots = new("snapshots", SqliteSynchronous.Full, ForeignKeys: false);

    /// <summary>
    /// Escort sessions, location traces and emergency reports. Traces are evidence, not alarms: a power cut may lose the
    /// last second of them; an emergency report raises its own write to full durability.
    /// </summary>
    public static readonly StoreFile Escorts = new("escorts", SqliteSynchronous.Normal, ForeignKeys: false);

    /// <summary>Operator accounts, their console sessions and the keys that protect the session cookies.</summary>
    public static readonly StoreFile Operators = new("operators", SqliteSynchronous.Full, ForeignKeys: false);

    /// <summary>Signed firmware releases, rollouts and each device's update state.</summary>
    public static readonly StoreFile Firmware = new("firmware", SqliteSynchronous.Full, ForeignKeys: false);

    public string SqliteFileName => Name + ".db";
}
