using System.Diagnostics;
using Anshimi.ServiceDefaults;

namespace Anshimi.Gateway.Diagnostics;

/// <summary>The gateway as telemetry sees it: one meter for its counters, one activity source for alarm traces.</summary>
public static class GatewayTelemetry
{
    public const string ServiceName = "anshimi-gateway";

    /// <summary>Traces: one per alarm from the device frame's receipt (<c>alarm.receive</c>) through store, outbox and publish.</summary>
    public static readonly ActivitySource Source = new(GatewayMetrics.MeterName);

    public static ServiceIdentity Service { get; } =
        new(ServiceName, typeof(GatewayTelemetry).Assembly, [GatewayMetrics.MeterName], [GatewayMetrics.MeterName]);
}
