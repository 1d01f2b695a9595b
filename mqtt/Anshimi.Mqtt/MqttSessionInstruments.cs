using System.Diagnostics.Metrics;

namespace Anshimi.Mqtt;

/// <summary>
/// The session's own figures as instruments on a service's meter, so an operator scraping <c>/metrics</c> sees
/// inbound messages the session dropped and whether the broker session is up.
/// </summary>
public static class MqttSessionInstruments
{
    /// <summary>
    /// Adds <c>{prefix}.mqtt.messages.dropped</c> (by reason: <c>unmatched</c>, <c>handler_failed</c>) and
    /// <c>{prefix}.mqtt.connected</c> (1 while connected) to <paramref name="meter"/>, read at collection time.
    /// </summary>
    public static void ObserveMqttSession(this Meter meter, string prefix, MqttSession session)
    {
        ArgumentNullException.ThrowIfNull(meter);
        ArgumentNullException.ThrowIfNull(session);
        meter.CreateObservableCounter(
            prefix + ".mqtt.messages.dropped",
            () => new[]
            {
                new Measurement<long>(session.UnmatchedMessages, new KeyValuePair<string, object?>("reason", "unmatched")),
                new Measurement<long>(session.FailedMessages, new KeyValuePair<string, object?>("reason", "handler_failed")),
            },
            "{message}",
            "Inbound MQTT messages dropped by the session: on no subscribed filter, or their handler failed.");
        meter.CreateObservableGauge(
            prefix + ".mqtt.connected",
            () => session.State == MqttConnectionState.Connected ? 1 : 0,
            "{session}",
            "1 while the broker session is connected.");
    }
}
