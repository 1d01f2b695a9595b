using System.Diagnostics;
using Anshimi.Gateway.Storage;
using Anshimi.ServiceDefaults;

namespace Anshimi.Gateway.Diagnostics;

/// <summary>The gateway as telemetry sees it: one meter for its counters, one activity source for alarm traces.</summary>
public static class GatewayTelemetry
{
    public const string ServiceName = "anshimi-gateway";

    /// <summary>Traces: one per alarm from the device frame's receipt (<c>alarm.receive</c>) through store, outbox and publish.</summary>
    public static readonly ActivitySource Source = new(GatewayMetrics.MeterName);

    /// <summary>
    /// One span per copy of an alarm sent upstream (<c>alarm.send</c>), a child of the alarm's receipt span kept with
    /// the stored alarm; its context travels in the envelope. Null when nobody listens or the stored context is unusable.
    /// </summary>
    public static Activity? StartSend(OutboxItem row)
    {
        ArgumentNullException.ThrowIfNull(row);
        ActivityContext.TryParse(row.TraceParent, null, isRemote: false, out ActivityContext parent);
        Activity? send = Source.StartActivity("alarm.send", ActivityKind.Producer, parent);
        send?.SetTag("anshimi.alarm.key", row.Key);
        send?.SetTag("anshimi.outbox.attempt", row.Attempts + 1);
        return send;
    }

    public static ServiceIdentity Service { get; } =
        new(ServiceName, typeof(GatewayTelemetry).Assembly, [GatewayMetrics.MeterName], [GatewayMetrics.MeterName]);
}
