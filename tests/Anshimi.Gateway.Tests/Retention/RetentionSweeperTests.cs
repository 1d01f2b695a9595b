using Anshimi.Gateway.Health;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Retention;
using Anshimi.Gateway.Supervision;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests.Retention;

public sealed class RetentionSweeperTests : IAsyncLifetime
{
    private static readonly TimeSpan PastRetention = new RetentionOptions().Alarms + TimeSpan.FromDays(1);

    private GatewayHarness _gateway = null!;

    private TestDevice Bell => _gateway.Devices[0];

    private RetentionSweeper Sweeper => _gateway.Get<RetentionSweeper>();

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Delivered_alarms_and_troubles_past_their_retention_are_deleted_and_undelivered_ones_kept()
    {
        await AcceptAsync(5, receipted: true);
        await AcceptAsync(6, receipted: false);
        TroubleOutbox troubles = _gateway.Get<TroubleOutbox>();
        ISupervisionSink supervision = _gateway.Get<ISupervisionSink>();
        supervision.Raise(Bell.Id, Bell.Profile, ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent);
        await troubles.PublishDueAsync(CancellationToken.None);
        await ReceiptAsync(GatewayHarness.GatewayId + "/1");
        supervision.Raise(Bell.Id, Bell.Profile, ContactIdCode.CommunicationTrouble, ContactIdQualifier.Restore);
        await troubles.PublishDueAsync(CancellationToken.None);

        // Nothing is old enough yet.
        Assert.Equal((0, 0), await Sweeper.SweepAsync(CancellationToken.None));

        _gateway.Time.Advance(TimeSpan.FromDays(30));
        await AcceptAsync(7, receipted: true);
        _gateway.Time.Advance(PastRetention - TimeSpan.FromDays(30));

        Assert.Equal((1, 1), await Sweeper.SweepAsync(CancellationToken.None));
        Assert.Equal([6, 7], Counters());
        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM outbox WHERE counter = 6"));
        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM troubles WHERE receipted_at IS NULL AND qualifier = 3"));
        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM troubles"));
        Assert.Equal(5, _gateway.Count("SELECT purged_counter FROM devices WHERE id = 0xA1B2"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_records_purged_total{kind=\"alarm\"}"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_records_purged_total{kind=\"trouble\"}"));

        // Undelivered records wait for the cloud however old they are.
        Assert.Equal((0, 0), await Sweeper.SweepAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_resent_alarm_whose_record_was_purged_is_a_replay_while_a_lost_newer_one_is_still_taken()
    {
        await AcceptAsync(5, receipted: true);
        await AcceptAsync(6, receipted: true);
        _gateway.Time.Advance(PastRetention);
        await AcceptAsync(9, receipted: true);
        Assert.Equal((2, 0), await Sweeper.SweepAsync(CancellationToken.None));
        _gateway.Mqtt.Clear();

        // Within the window of the newest alarm, so without the purged counter it would be stored again.
        UplinkResult replay = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(6), CancellationToken.None);
        Assert.Equal(UplinkResult.Reject("replayed"), replay);
        Assert.Empty(_gateway.Mqtt.Published);

        UplinkResult resent = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(9), CancellationToken.None);
        Assert.Equal(UplinkOutcome.Duplicate, resent.Outcome);

        UplinkResult lost = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(7), CancellationToken.None);
        Assert.Equal(UplinkOutcome.Accepted, lost.Outcome);
        Assert.Equal([7, 9], Counters());
    }

    [Fact]
    [Trait("Category", "Protocol")]
    public async Task A_stored_alarm_below_the_purged_counter_is_a_duplicate_since_the_duplicate_check_comes_first()
    {
        await AcceptAsync(9, receipted: true);
        _gateway.Time.Advance(PastRetention);

        // Alarm 5 was lost in a crash and comes back late, within the window; then 9's record reaches its retention.
        await AcceptAsync(5, receipted: true);
        Assert.Equal((1, 0), await Sweeper.SweepAsync(CancellationToken.None));
        Assert.Equal([5], Counters());
        _gateway.Mqtt.Clear();

        // 5 is at or below the purged counter (9) but still stored: the device missed our ack, so it is acked again.
        UplinkResult resent = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(5), CancellationToken.None);
        Assert.Equal(UplinkOutcome.Duplicate, resent.Outcome);
        Assert.Single(_gateway.Mqtt.PublishedTo(Bell.DownlinkTopic));
        Assert.Equal(UplinkResult.Reject("replayed"), await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(8), CancellationToken.None));
    }

    [Fact]
    public async Task The_purged_counter_survives_a_restart()
    {
        await AcceptAsync(5, receipted: true);
        _gateway.Time.Advance(PastRetention);
        await AcceptAsync(6, receipted: true);
        await Sweeper.SweepAsync(CancellationToken.None);

        _gateway = await _gateway.RestartAsync();

        Assert.Equal(UplinkResult.Reject("replayed"), await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(5), CancellationToken.None));
    }

    [Theory]
    [InlineData("Retention:Alarms", "12:00:00")]
    [InlineData("Retention:Troubles", "00:00:00")]
    [InlineData("Retention:SweepInterval", "-00:01:00")]
    public void A_retention_too_short_to_keep_what_the_gateway_still_needs_is_refused_by_name(string key, string value)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        using ServiceProvider services = new ServiceCollection().AddRecordRetention(configuration).BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<RetentionOptions>>().Value);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private async Task AcceptAsync(uint counter, bool receipted)
    {
        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(counter), CancellationToken.None)).Outcome);
        if (receipted)
        {
            await ReceiptAsync(new AlarmKey(Bell.Id, counter).ToString());
        }
    }

    private Task ReceiptAsync(string key) =>
        _gateway.Commands.HandleAsync(EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope(key)), CancellationToken.None);

    private long[] Counters()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + _gateway.DatabasePath + ";Mode=ReadOnly;Pooling=False");
        connection.Open();
        using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT counter FROM alarms ORDER BY counter;";
        using Microsoft.Data.Sqlite.SqliteDataReader reader = command.ExecuteReader();
        var counters = new List<long>();
        while (reader.Read())
        {
            counters.Add(reader.GetInt64(0));
        }

        return [.. counters];
    }
}
