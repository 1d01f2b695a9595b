using System.Diagnostics;
using Anshimi.ServiceDefaults;

namespace Anshimi.CloudBridge.Hosting;

/// <summary>The bridge as telemetry sees it: one meter, and one activity source continuing each alarm's trace from the gateway.</summary>
public static class CloudBridgeTelemetry
{
    public const string ServiceName = "anshimi-cloud-bridge";
    public const string MeterName = "Anshimi.CloudBridge";

    public static readonly ActivitySource Source = new(MeterName);

    public static ServiceIdentity Service { get; } = new(ServiceName, typeof(CloudBridgeTelemetry).Assembly, [MeterName], [MeterName]);
}
