using System.Net.Sockets;
using Anshimi.CloudBridge.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Anshimi.CloudBridge.Tests.Storage;

public sealed class TransientFaultRetryTests
{
    private static readonly TransientFaultRetry Retry = new(TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5));

    public static TheoryData<Exception> Transient() =>
    [
        new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused)),
        new NpgsqlException("Exception while reading from stream", new EndOfStreamException()),
        new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown),
        new PostgresException("the database system is starting up", "FATAL", "FATAL", PostgresErrorCodes.CannotConnectNow),
        new PostgresException("cannot execute INSERT in a read-only transaction", "ERROR", "ERROR", PostgresErrorCodes.ReadOnlySqlTransaction),
        new PostgresException("could not serialize access", "ERROR", "ERROR", PostgresErrorCodes.SerializationFailure),
        new SqliteException("database is locked", 5),
        new NpgsqlException("No suitable host was found."),
        new NpgsqlException("Unable to connect to a suitable host. Check inner exception for more details.", new AggregateException(
            new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused)),
            new PostgresException("the database system is starting up", "FATAL", "FATAL", PostgresErrorCodes.CannotConnectNow))),
    ];

    public static TheoryData<Exception> Permanent() =>
    [
        new PostgresException("duplicate key value violates unique constraint", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation),
        new PostgresException("syntax error", "ERROR", "ERROR", PostgresErrorCodes.SyntaxError),
        new PostgresException("password authentication failed", "FATAL", "FATAL", PostgresErrorCodes.InvalidPassword),
        new SqliteException("FOREIGN KEY constraint failed", 19),
        new InvalidOperationException("a bug"),
        new NpgsqlException("Unable to connect to a suitable host. Check inner exception for more details.", new AggregateException(
            new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused)),
            new PostgresException("password authentication failed", "FATAL", "FATAL", PostgresErrorCodes.InvalidPassword))),
    ];

    [Theory]
    [MemberData(nameof(Transient))]
    public async Task A_transient_fault_is_retried_until_the_work_succeeds(Exception fault)
    {
        int calls = 0;
        var faults = new List<Exception>();

        int result = await Retry.RunAsync(_ => ++calls < 3 ? throw fault : Task.FromResult(42), faults.Add, CancellationToken.None);

        Assert.Equal(42, result);
        Assert.Equal(3, calls);
        Assert.Equal([fault, fault], faults);
    }

    [Theory]
    [MemberData(nameof(Permanent))]
    public async Task Any_other_fault_fails_at_once(Exception fault)
    {
        int calls = 0;

        Exception thrown = await Assert.ThrowsAnyAsync<Exception>(() => Retry.RunAsync<int>(_ => { calls++; throw fault; }, null, CancellationToken.None));

        Assert.Same(fault, thrown);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_fault_that_outlasts_the_retry_time_is_thrown()
    {
        var shortRetry = new TransientFaultRetry(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10));
        var fault = new NpgsqlException("refused", new SocketException((int)SocketError.ConnectionRefused));
        int calls = 0;

        Exception thrown = await Assert.ThrowsAsync<NpgsqlException>(() => shortRetry.RunAsync<int>(_ => { calls++; throw fault; }, null, CancellationToken.None));

        Assert.Same(fault, thrown);
        Assert.InRange(calls, 2, 10);
    }
}
