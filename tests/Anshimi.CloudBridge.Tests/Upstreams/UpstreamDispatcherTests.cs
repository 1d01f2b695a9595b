using Anshimi.AlarmReceivers.Dc09;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Upstreams;
using Anshimi.CloudBridge.Upstreams.Dc09;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests.Upstreams;

public sealed class UpstreamDispatcherTests
{
    private static readonly RedeliveryPolicy Policy = new(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(2));

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(3, 8)]
    [InlineData(6, 64)]
    [InlineData(7, 120)]
    [InlineData(1000, 120)]
    public void Consecutive_failures_double_the_wait_up_to_the_cap(int failures, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), UpstreamDispatcher.Backoff(Policy, failures, retryAfter: null));

    [Theory]
    [InlineData(1, 30, 30)]     // a receiver's longer wish is honoured
    [InlineData(1, 1, 2)]       // a shorter one does not hurry us
    [InlineData(1, 3600, 120)]  // and never past the cap
    public void Retry_After_is_honoured_within_the_cap(int failures, int retryAfter, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), UpstreamDispatcher.Backoff(Policy, failures, TimeSpan.FromSeconds(retryAfter)));

    [Fact]
    public void A_restore_keeps_its_qualifier_and_a_test_of_a_restore_is_still_a_601_new_event()
    {
        AlarmRecord restore = Record(code: 301, qualifier: 3, test: false);
        Dc09Alarm sent = Dc09Upstream.ToDc09(restore, "1168", 1);
        Assert.Equal((AlarmReceivers.Dc09.ContactIdQualifier.Restore, 301, 1, 4), (sent.Qualifier, sent.EventCode, sent.Partition, sent.Zone));
        Assert.Equal("000000AA:9", sent.IdempotencyKey);

        Dc09Alarm test = Dc09Upstream.ToDc09(restore with { Test = true }, "1168", 1);
        Assert.Equal((AlarmReceivers.Dc09.ContactIdQualifier.NewEvent, Dc09Upstream.TestReportCode), (test.Qualifier, test.EventCode));

        Dc09Alarm periodic = Dc09Upstream.ToDc09(Record(code: 602, qualifier: 1, test: true), "1168", 1);
        Assert.Equal(602, periodic.EventCode);
    }

    [Fact]
    public void The_account_comes_from_the_device_then_the_district_then_the_default()
    {
        var options = new Dc09UpstreamOptions
        {
            DefaultAccount = "9999",
            AccountsByDistrict = { ["11680"] = "1168" },
            AccountsByDevice = { ["000000AA"] = "5001" },
        };

        Assert.Equal("5001", Dc09Upstream.AccountFor(options, Record(301, 1, false)));
        Assert.Equal("1168", Dc09Upstream.AccountFor(options, Record(301, 1, false) with { DeviceId = "000000AB" }));
        Assert.Equal("9999", Dc09Upstream.AccountFor(options, Record(301, 1, false) with { DeviceId = "000000AB", DistrictCode = "11140" }));
        Assert.Null(Dc09Upstream.AccountFor(new Dc09UpstreamOptions(), Record(301, 1, false)));
    }

    private static AlarmRecord Record(int code, int qualifier, bool test) => new(
        "000000AA:9", "000000AA", 9, "gw-test-01", code, qualifier, 4, "home-panic", "home", 37.5172, 127.0473, "주소",
        test, "11680", "01", AlarmState.Open, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, []);
}
