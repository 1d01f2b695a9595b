using System.Diagnostics;
using Anshimi.Protocol.Upstream;
using Anshimi.ServiceDefaults;

namespace Anshimi.CloudBridge.Hosting;

/// <summary>The bridge as telemetry sees it: one meter, and one activity source continuing each alarm's trace from the gateway.</summary>
public static class CloudBridgeTelemetry
{
    public const string ServiceName = "anshimi-cloud-bridge";
    public const string MeterName = "Anshimi.CloudBridge";

    public static readonly ActivitySource Source = new(MeterName);

    /// <summary>
    /// <c>alarm.ingest</c> for one alarm envelope: a child of the gateway's send span when the envelope carries a
    /// well-formed <c>traceparent</c>, else the root of a new trace (a missing or hostile value is ignored).
    /// </summary>
    public static Activity? StartIngest(AlarmEnvelope alarm, string gatewayId)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        bool continued = alarm.TryGetParent(out ActivityContext parent);
        Activity? ingest = Source.StartActivity("alarm.ingest", ActivityKind.Consumer, parent);
        ingest?.SetTag("anshimi.alarm.key", alarm.Key);
        ingest?.SetTag("anshimi.gateway.id", gatewayId);
        ingest?.SetTag("anshimi.trace.continued", continued);
        return ingest;
    }

    public static ServiceIdentity Service { get; } = new(ServiceName, typeof(CloudBridgeTelemetry).Assembly, [MeterName], [MeterName]);
}
