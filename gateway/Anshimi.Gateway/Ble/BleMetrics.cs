using System.Diagnostics.Metrics;
using Anshimi.Gateway.Diagnostics;

namespace Anshimi.Gateway.Ble;

/// <summary>
/// BLE and streetlight instruments on the gateway meter: <c>anshimi_gateway_ble_frames_total{result}</c> counts
/// every advertisement heard by what became of it; <c>anshimi_gateway_lights_outcomes_total{outcome}</c> the
/// per-light answers to light commands; <c>anshimi_gateway_ble_advertisements_total{kind}</c> downlink frames put on air.
/// </summary>
public sealed class BleMetrics(GatewayMetrics metrics)
{
    private readonly Counter<long> _frames = metrics.Meter.CreateCounter<long>(
        "anshimi.gateway.ble.frames", "{advertisement}", description: "BLE advertisements heard, by result (accepted kinds, repeats, reject reasons).");

    private readonly Counter<long> _outcomes = metrics.Meter.CreateCounter<long>(
        "anshimi.gateway.lights.outcomes", "{light}", description: "Per-light outcomes of light commands.");

    private readonly Counter<long> _advertisements = metrics.Meter.CreateCounter<long>(
        "anshimi.gateway.ble.advertisements", "{frame}", description: "Signed downlink frames put on air, by kind (command, ack).");

    public GatewayMetrics Gateway { get; } = metrics;

    public void Frame(string result) => _frames.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Outcome(string outcome) => _outcomes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Advertised(string kind) => _advertisements.Add(1, new KeyValuePair<string, object?>("kind", kind));
}
