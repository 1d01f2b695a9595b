using System.Net;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Privacy;

/// <summary>
/// An operator action, its ack-outbox row and its audit row commit together: a failure injected between them (a
/// trigger on the real alarm file refusing the one written second) leaves neither, and the bell hears nothing.
/// </summary>
[Trait("Category", "Privacy")]
public sealed class AuditTransactionTests : IAsyncLifetime
{
    private readonly AlarmEnvelope _alarm = TestAlarms.Alarm(0x7101, 1);
    private CloudBridgeHost _host = null!;

    private AuditLog Audit => _host.Services.GetRequiredService<AuditLog>();

    public async Task InitializeAsync()
    {
        _host = await CloudBridgeHost.StartAsync(new FakeMqttClient());
        await _host.InjectAsync(TestAlarms.EventsTopic(), _alarm);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task The_audit_row_lives_in_the_same_file_as_the_alarm_and_its_outbox()
    {
        Assert.Equal(_host.Store.DatabasePath, Audit.DatabasePath);

        (await _host.Http.PostAsync(new Uri($"/api/alarms/{_alarm.Key}/ack", UriKind.Relative), null)).EnsureSuccessStatusCode();

        Assert.Equal((1L, 1L), (await CountAsync("ack_outbox"), await CountAuditAsync(AuditAction.Acknowledge)));
        Assert.True((await Audit.VerifyAsync(CancellationToken.None)).Intact);
    }

    [Fact]
    public async Task When_the_audit_write_fails_the_action_and_its_outbox_row_are_rolled_back()
    {
        await ExecuteAsync("CREATE TRIGGER injected_failure BEFORE INSERT ON audit WHEN NEW.action = 'acknowledge' BEGIN SELECT RAISE(ABORT, 'injected'); END;");

        using HttpResponseMessage failed = await _host.Http.PostAsync(new Uri($"/api/alarms/{_alarm.Key}/ack", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        AlarmRecord alarm = (await _host.Store.FindAsync(_alarm.Key, CancellationToken.None))!;
        Assert.Equal(AlarmState.Open, alarm.State);
        Assert.DoesNotContain(alarm.Timeline, t => t.Stage == TimelineStage.Acknowledged);
        Assert.Equal((0L, 0L), (await CountAsync("ack_outbox"), await CountAuditAsync(AuditAction.Acknowledge)));

        // With the fault gone the same request goes through, all three rows at once.
        await ExecuteAsync("DROP TRIGGER injected_failure;");
        (await _host.Http.PostAsync(new Uri($"/api/alarms/{_alarm.Key}/ack", UriKind.Relative), null)).EnsureSuccessStatusCode();
        Assert.Equal((1L, 1L), (await CountAsync("ack_outbox"), await CountAuditAsync(AuditAction.Acknowledge)));
        Assert.True((await Audit.VerifyAsync(CancellationToken.None)).Intact);
    }

    [Fact]
    public async Task When_the_outbox_write_fails_no_audit_row_claims_the_action()
    {
        await ExecuteAsync("CREATE TRIGGER injected_failure BEFORE INSERT ON ack_outbox BEGIN SELECT RAISE(ABORT, 'injected'); END;");

        using HttpResponseMessage failed = await _host.Http.PostAsync(new Uri($"/api/alarms/{_alarm.Key}/resolve", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(AlarmState.Open, (await _host.Store.FindAsync(_alarm.Key, CancellationToken.None))!.State);
        Assert.Equal(0L, await CountAuditAsync(AuditAction.Resolve));
        Assert.True((await Audit.VerifyAsync(CancellationToken.None)).Intact);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _host.Store.DatabasePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> CountAsync(string table)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _host.Store.DatabasePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM \"{table}\";";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<long> CountAuditAsync(string action) =>
        (await Audit.ListAsync(1000, _alarm.Key, CancellationToken.None)).LongCount(r => r.Entry.Action == action);
}
