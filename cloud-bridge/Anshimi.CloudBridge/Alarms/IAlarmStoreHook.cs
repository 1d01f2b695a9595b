using System.Data.Common;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// Work that must be exactly as durable as a new alarm (e.g. deliveries to alarm receivers): the
/// <see cref="AlarmStore"/> calls <see cref="OnNewAlarmAsync"/> inside the transaction that stores the alarm, so both
/// commit or neither. Its tables belong to the alarm file's migrations (<c>Storage/Migrations</c>).
/// </summary>
public interface IAlarmStoreHook
{
    /// <summary>Runs in the storing transaction of a new alarm; commands on <paramref name="connection"/> join it.</summary>
    Task OnNewAlarmAsync(DbConnection connection, string key, CancellationToken cancellationToken);

    /// <summary>The transaction has committed.</summary>
    void AlarmCommitted(string key);

    /// <summary>Runs in the transaction that applies an operator's action to <paramref name="key"/>.</summary>
    Task OnAlarmChangedAsync(DbConnection connection, string key, CancellationToken cancellationToken) => Task.CompletedTask;
}
