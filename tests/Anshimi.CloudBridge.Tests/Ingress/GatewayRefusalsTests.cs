using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Ingress;

/// <summary>Refusals are all counted, but a gateway sending about ever new devices cannot flood the audit log.</summary>
public sealed class GatewayRefusalsTests
{
    [Fact]
    public async Task Every_refusal_is_counted_and_at_most_the_limit_a_minute_per_gateway_and_reason_is_audited()
    {
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient());
        for (uint device = 1; device <= 100; device++)
        {
            var status = new DeviceStatusEnvelope(TestAlarms.Gateway, DeviceIdText.Format(0xE000 + device), "home-panic",
                new SiteInfo("home", TestAlarms.GangnamGuOffice.Lat, TestAlarms.GangnamGuOffice.Lon, "x"), null,
                new DeviceHealth(false, false, false, false, false, null), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
            await host.Ingress.HandleAsync(TestAlarms.EventsTopic(), EnvelopeSerializer.Serialize(status), CancellationToken.None);
        }

        Assert.Equal(100, host.Refusals.Count(RefusalReason.UnboundDevice));
        IReadOnlyList<AuditRecord> audited = await host.Services.GetRequiredService<AuditLog>().ListAsync(1000, null, CancellationToken.None);
        Assert.Equal(GatewayRefusals.MaxAuditedPerMinute, audited.Count(r => r.Entry.Action == GatewayRefusals.AuditAction));
        Assert.Equal(0, host.Statistics.DeviceStatuses);
    }
}
