using System.Diagnostics.Metrics;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Supervision;

/// <summary>
/// Counts communication troubles and restores and logs each one. Troubles are not forwarded
/// upstream yet: the outbox is keyed by (device, frame counter), and no gateway-made counter is
/// guaranteed never to collide with the device's own.
/// </summary>
public sealed partial class MetricsSupervisionSink(GatewayMetrics metrics, ILogger<MetricsSupervisionSink> logger) : ISupervisionSink
{
    public const string Trouble = "trouble";
    public const string Restore = "restore";

    private readonly Counter<long> _troubles = metrics.Meter.CreateCounter<long>(
        "anshimi.gateway.supervision.troubles", "{trouble}", description: "Communication troubles (Contact ID 350) raised and restored, by state.");

    public void Raise(uint deviceId, string profile, ushort code, byte qualifier)
    {
        string state = qualifier == ContactIdQualifier.Restore ? Restore : Trouble;
        _troubles.Add(1, new KeyValuePair<string, object?>("state", state));
        if (state == Trouble)
        {
            LogSilent(logger, DeviceIdText.Format(deviceId), profile, code, qualifier);
        }
        else
        {
            LogHeardAgain(logger, DeviceIdText.Format(deviceId), profile, code, qualifier);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Device} ({Profile}) is silent past its supervision interval: event {Code:000} qualifier {Qualifier}")]
    private static partial void LogSilent(ILogger logger, string device, string profile, int code, int qualifier);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {Device} ({Profile}) is heard again: event {Code:000} qualifier {Qualifier}")]
    private static partial void LogHeardAgain(ILogger logger, string device, string profile, int code, int qualifier);
}
