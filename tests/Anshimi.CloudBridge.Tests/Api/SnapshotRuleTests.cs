using System.Net;
using Anshimi.CloudBridge.Audit;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Api;

/// <summary>A doorbell snapshot reaches an operator only for an open alarm of their district; every request is audited.</summary>
public sealed class SnapshotRuleTests : IAsyncLifetime
{
    private readonly AlarmEnvelope _alarm = TestAlarms.Alarm(0x4001, 1, TestAlarms.GangnamGuOffice);
    private CloudBridgeHost _host = null!;
    private HttpClient _gangnam = null!;

    private AuditLog Audit => _host.Services.GetRequiredService<AuditLog>();

    public async Task InitializeAsync()
    {
        _host = await CloudBridgeHost.StartAsync(new FakeMqttClient());
        _gangnam = await _host.SignedInAsync(TestOperators.Gangnam);
        await _host.InjectAsync(TestAlarms.EventsTopic(), _alarm);
    }

    public async Task DisposeAsync()
    {
        _gangnam.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task While_open_the_image_is_served_uncached_and_the_view_audited()
    {
        TestSnapshots.Write(_host, _alarm.Key, _alarm.DeviceId, TestSnapshots.Png, DateTimeOffset.UtcNow);
        (await _gangnam.PostAsync(new Uri($"/api/alarms/{_alarm.Key}/ack", UriKind.Relative), null)).EnsureSuccessStatusCode();

        using HttpResponseMessage response = await _gangnam.GetAsync(new Uri($"/api/alarms/{_alarm.Key}/snapshot", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoStore);
        Assert.Equal(TestSnapshots.Png, await response.Content.ReadAsByteArrayAsync());
        AuditRecord view = (await Audit.ListAsync(10, _alarm.Key, CancellationToken.None)).First(r => r.Entry.Action == AuditAction.SnapshotView);
        Assert.Equal((TestOperators.Gangnam.UserName, AuditOutcome.Granted, TestOperators.GangnamCode), (view.Entry.Actor, view.Entry.Outcome, view.Entry.District));
    }

    [Fact]
    public async Task After_resolution_it_is_gone_and_the_refusal_audited()
    {
        TestSnapshots.Write(_host, _alarm.Key, _alarm.DeviceId, TestSnapshots.Png, DateTimeOffset.UtcNow);
        (await _gangnam.PostAsync(new Uri($"/api/alarms/{_alarm.Key}/resolve", UriKind.Relative), null)).EnsureSuccessStatusCode();

        using HttpResponseMessage response = await _gangnam.GetAsync(new Uri($"/api/alarms/{_alarm.Key}/snapshot", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
        AuditRecord view = (await Audit.ListAsync(10, _alarm.Key, CancellationToken.None)).First(r => r.Entry.Action == AuditAction.SnapshotView);
        Assert.Equal((AuditOutcome.Refused, "alarm resolved"), (view.Entry.Outcome, view.Entry.Detail));
    }

    [Fact]
    public async Task Another_district_and_a_missing_image_are_refused_and_audited()
    {
        TestSnapshots.Write(_host, _alarm.Key, _alarm.DeviceId, TestSnapshots.Png, DateTimeOffset.UtcNow);
        using HttpClient jongno = await _host.SignedInAsync(TestOperators.Jongno);
        AlarmEnvelope noImage = TestAlarms.Alarm(0x4002, 1, TestAlarms.GangnamGuOffice);
        await _host.InjectAsync(TestAlarms.EventsTopic(), noImage);

        Assert.Equal(HttpStatusCode.NotFound, (await jongno.GetAsync(new Uri($"/api/alarms/{_alarm.Key}/snapshot", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _gangnam.GetAsync(new Uri($"/api/alarms/{noImage.Key}/snapshot", UriKind.Relative))).StatusCode);

        AuditRecord other = Assert.Single(await Audit.ListAsync(10, _alarm.Key, CancellationToken.None));
        Assert.Equal((TestOperators.Jongno.UserName, AuditOutcome.Refused), (other.Entry.Actor, other.Entry.Outcome));
        AuditRecord missing = Assert.Single(await Audit.ListAsync(10, noImage.Key, CancellationToken.None));
        Assert.Equal((AuditOutcome.Refused, "no snapshot stored"), (missing.Entry.Outcome, missing.Entry.Detail));
    }
}
