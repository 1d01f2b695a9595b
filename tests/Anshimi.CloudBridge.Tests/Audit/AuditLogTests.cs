using System.Data.Common;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Audit;

/// <summary>The audit log cannot be edited through the database's front door, and edits made around it are found.</summary>
public abstract class AuditLogTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero));
    private TestStorage _storage = null!;
    private StoreDatabase _database = null!;

    protected abstract StorageProvider Provider { get; }

    public async Task InitializeAsync()
    {
        _storage = await TestStorage.CreateAsync(Provider);
        _database = _storage.Open(StoreFile.Alarms);
    }

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task A_written_chain_verifies_and_survives_reopening()
    {
        AuditLog log = await WriteAsync(5);

        AuditVerification fresh = await log.VerifyAsync(CancellationToken.None);
        AuditVerification reopened = await new AuditLog(_storage.Open(StoreFile.Alarms), _clock).VerifyAsync(CancellationToken.None);

        Assert.Equal(new AuditVerification(true, 5, null, null), fresh);
        Assert.Equal(fresh, reopened);
        IReadOnlyList<AuditRecord> rows = await log.ListAsync(10, null, CancellationToken.None);
        Assert.Equal(rows[1].Hash, rows[0].PreviousHash);
        Assert.Equal(AuditLog.Genesis, rows[^1].PreviousHash);
    }

    [Theory]
    [InlineData("UPDATE audit SET actor = 'someone-else' WHERE id = 2;")]
    [InlineData("DELETE FROM audit WHERE id = 2;")]
    [InlineData("UPDATE audit_horizon SET purged_through = 0;")]
    public async Task Update_and_delete_are_refused_by_the_database(string sql)
    {
        await WriteAsync(3);
        if (sql.Contains("audit_horizon", StringComparison.Ordinal))
        {
            // Only a forward move is allowed; then try to move it back.
            await Assert.ThrowsAnyAsync<DbException>(() => RawAsync("DELETE FROM audit WHERE id = 1;"));
            await RawAsync("UPDATE audit_horizon SET purged_through = 1;");
        }

        DbException refused = await Assert.ThrowsAnyAsync<DbException>(() => RawAsync(sql));
        Assert.Contains(sql.Contains("audit_horizon", StringComparison.Ordinal) ? "only moves forward" : "append-only", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UPDATE audit SET detail = 'nothing to see' WHERE id = 3;", 3L, "content does not match its hash")]
    [InlineData("DELETE FROM audit WHERE id = 3;", 4L, "rows missing or inserted")]
    [InlineData("DELETE FROM audit WHERE id = 1;", 2L, "rows missing or inserted")]
    [InlineData("UPDATE audit SET at = '2026-01-01T00:00:00.0000000+00:00' WHERE id = 4;", 4L, "content does not match its hash")]
    public async Task Tampering_after_dropping_the_triggers_names_the_first_broken_row(string tamper, long firstBroken, string problem)
    {
        AuditLog log = await WriteAsync(6);
        await RawAsync(DropTrigger("audit_no_update") + DropTrigger("audit_no_delete") + tamper);

        AuditVerification result = await log.VerifyAsync(CancellationToken.None);

        Assert.False(result.Intact);
        Assert.Equal(firstBroken, result.FirstBrokenId);
        Assert.Contains(problem, result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rehashing_an_edited_row_still_breaks_the_link_of_the_next()
    {
        AuditLog log = await WriteAsync(4);
        AuditRecord second = (await log.ListAsync(10, null, CancellationToken.None)).Single(r => r.Id == 2);
        string forged = AuditLog.HashOf(2, second.At, second.Entry with { Actor = "intruder" }, second.PreviousHash);
        await RawAsync(DropTrigger("audit_no_update") + "UPDATE audit SET actor = 'intruder', hash = @hash WHERE id = 2;", ("hash", forged));

        AuditVerification result = await log.VerifyAsync(CancellationToken.None);

        Assert.Equal(3, result.FirstBrokenId);
        Assert.Contains("previous-hash link", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purging_past_the_audit_retention_keeps_the_rest_verifiable_and_is_itself_audited()
    {
        AuditLog log = await WriteAsync(3);
        _clock.Advance(TimeSpan.FromDays(10));
        await log.AppendAsync(new AuditEntry("kim", AuditAction.SignIn, "kim", "11680", AuditOutcome.Done, ""), CancellationToken.None);

        long removed = await log.PurgeBeforeAsync(_clock.GetUtcNow() - TimeSpan.FromDays(5), "retention", CancellationToken.None);

        Assert.Equal(3, removed);
        AuditVerification result = await log.VerifyAsync(CancellationToken.None);
        Assert.Equal(new AuditVerification(true, 2, null, null), result);
        AuditRecord purge = (await log.ListAsync(1, null, CancellationToken.None))[0];
        Assert.Equal((AuditAction.RetentionPurge, "removed=3"), (purge.Entry.Action, purge.Entry.Detail));

        await RawAsync(DropTrigger("audit_no_delete") + "DELETE FROM audit WHERE id = 4;");

        Assert.Equal(5, (await log.VerifyAsync(CancellationToken.None)).FirstBrokenId);
    }

    [Fact]
    public async Task Concurrent_appends_keep_one_unbroken_chain()
    {
        var log = new AuditLog(_database, _clock);

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            log.AppendAsync(new AuditEntry("op" + i, AuditAction.Acknowledge, "0000000" + (i % 10) + ":1", "11680", AuditOutcome.Done, "\"quoted\",\n"), CancellationToken.None)));

        Assert.Equal(new AuditVerification(true, 40, null, null), await log.VerifyAsync(CancellationToken.None));
    }

    private string DropTrigger(string name) => Provider == StorageProvider.Sqlite ? $"DROP TRIGGER {name}; " : $"DROP TRIGGER {name} ON audit; ";

    private async Task RawAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using DbConnection connection = await _database.OpenConnectionAsync(CancellationToken.None);
        await StoreDatabase.ExecuteAsync(connection, sql, CancellationToken.None, parameters);
    }

    private async Task<AuditLog> WriteAsync(int rows)
    {
        var log = new AuditLog(_database, _clock);
        for (int i = 0; i < rows; i++)
        {
            await log.AppendAsync(new AuditEntry("op" + i, AuditAction.SnapshotView, "0000A001:" + i, "11680", AuditOutcome.Granted, "sha256=ab"), CancellationToken.None);
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        return log;
    }
}

public sealed class SqliteAuditLogTests : AuditLogTests
{
    protected override StorageProvider Provider => StorageProvider.Sqlite;
}

[Trait("Category", "HighAvailability")]
[Trait("Category", "Storage")]
public sealed class PostgreSqlAuditLogTests : AuditLogTests
{
    protected override StorageProvider Provider => StorageProvider.PostgreSql;
}
