namespace Anshimi.CloudBridge.Tests;

/// <summary>The bridge's <c>GET /metrics</c> over HTTP: Prometheus text whose alarm counters move when an alarm arrives.</summary>
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_answers_prometheus_text_and_counts_a_stored_alarm_and_its_duplicate()
    {
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient());
        const string Stored = "anshimi_cloud_bridge_envelopes_received_total{outcome=\"alarm_stored\"}";
        const string Duplicate = "anshimi_cloud_bridge_envelopes_received_total{outcome=\"duplicate\"}";

        using HttpResponseMessage response = await host.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        string before = await response.Content.ReadAsStringAsync();
        Assert.Contains("target_info{service_name=\"anshimi-cloud-bridge\"", before, StringComparison.Ordinal);
        Assert.Equal(0, Prometheus.Value(before, Stored, absent: -1));

        Protocol.Upstream.AlarmEnvelope alarm = TestAlarms.Alarm(0xA1B2, 7);
        await host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        await host.InjectAsync(TestAlarms.EventsTopic(), alarm);

        string after = await host.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(1, Prometheus.Value(after, Stored, absent: -1));
        Assert.Equal(1, Prometheus.Value(after, Duplicate, absent: -1));
    }

    [Fact]
    public async Task A_message_on_a_topic_the_bridge_never_subscribed_is_dropped_and_counted()
    {
        var mqtt = new FakeMqttClient();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(mqtt);
        const string Unmatched = "anshimi_cloud_bridge_mqtt_messages_dropped_total{reason=\"unmatched\"}";
        string before = await host.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(0, Prometheus.Value(before, Unmatched, absent: -1));
        Assert.Equal(1, Prometheus.Value(before, "anshimi_cloud_bridge_mqtt_connected", absent: -1));

        mqtt.Deliver("anshimi/v1/somewhere/else", [1, 2, 3]);

        string after = await host.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(1, Prometheus.Value(after, Unmatched, absent: -1));
    }
}
