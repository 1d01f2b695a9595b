using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Anshimi.CloudBridge.Storage;

/// <summary>
/// Retries a unit of database work when, and only when, it failed for a reason that passes on its own: the server
/// restarting or switching primary, a refused or dropped connection, a serialization failure or deadlock, a busy
/// SQLite file. Anything else (a constraint, a syntax error, a cancelled call) fails at once.
/// </summary>
public sealed class TransientFaultRetry
{
    // Server going away or coming up (admin/crash shutdown, "starting up"), and a write that reached a server
    // demoted to standby during a primary switch: a new connection goes to the new primary.
    private static readonly HashSet<string> RetriedStates =
    [
        PostgresErrorCodes.AdminShutdown,
        PostgresErrorCodes.CrashShutdown,
        PostgresErrorCodes.CannotConnectNow,
        PostgresErrorCodes.ReadOnlySqlTransaction,
    ];

    // NpgsqlMultiHostDataSource's words when no listed host is a primary; it has no more specific type or code.
    private const string NoPrimaryYet = "No suitable host was found.";

    private readonly TimeSpan _retryFor;
    private readonly TimeSpan _firstDelay;
    private readonly TimeSpan _maxDelay;

    public TransientFaultRetry(TimeSpan retryFor, TimeSpan firstDelay, TimeSpan maxDelay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retryFor, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(firstDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, firstDelay);
        _retryFor = retryFor;
        _firstDelay = firstDelay;
        _maxDelay = maxDelay;
    }

    /// <summary>100 ms doubling to 2 s, for <paramref name="retryFor"/> in all.</summary>
    public static TransientFaultRetry For(TimeSpan retryFor) => new(retryFor, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2));

    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.IsTransient || RetriedStates.Contains(postgres.SqlState),
        // Several hosts (Target Session Attributes): each host's own fault, or every host reachable and none primary yet
        // (a standby being promoted, or Npgsql still remembering it as a standby for Host Recheck Seconds).
        NpgsqlException { InnerException: AggregateException hosts } => hosts.InnerExceptions.All(IsTransient),
        NpgsqlException npgsql when FoundNoPrimary(npgsql) => true,
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or EndOfStreamException,
        SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6, // SQLITE_BUSY, SQLITE_LOCKED
        _ => false,
    };

    /// <summary>A multi-host connection found no listed host it may use: each is remembered as down or as a standby.</summary>
    public static bool FoundNoPrimary(Exception exception) =>
        exception is NpgsqlException { InnerException: null, Message: NoPrimaryYet } and not PostgresException;

    /// <summary>
    /// Runs <paramref name="work"/> until it succeeds, fails with a fault that is not transient, or the retry time is
    /// spent (then the last fault is thrown). <paramref name="onFault"/> runs before each retry (drop broken pooled connections).
    /// </summary>
    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> work, Action<Exception>? onFault, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        long started = Environment.TickCount64;
        TimeSpan delay = _firstDelay;
        while (true)
        {
            try
            {
                return await work(cancellationToken);
            }
            catch (Exception e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested
                && TimeSpan.FromMilliseconds(Environment.TickCount64 - started) + delay <= _retryFor)
            {
                onFault?.Invoke(e);
            }

            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _maxDelay.Ticks));
        }
    }
}
