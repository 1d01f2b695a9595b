using Microsoft.Data.Sqlite;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// Work that must be exactly as durable as a new alarm (e.g. deliveries to alarm receivers): the
/// <see cref="AlarmStore"/> creates <see cref="Schema"/> in its database and calls
/// <see cref="OnNewAlarmAsync"/> inside the transaction that stores the alarm, so both commit or neither.
/// </summary>
public interface IAlarmStoreHook
{
    /// <summary>DDL run at start (CREATE ... IF NOT EXISTS).</summary>
    string Schema { get; }

    /// <summary>Runs in the storing transaction of a new alarm; commands on <paramref name="connection"/> join it.</summary>
    Task OnNewAlarmAsync(SqliteConnection connection, string key, CancellationToken cancellationToken);

    /// <summary>The transaction has committed.</summary>
    void AlarmCommitted(string key);
}
