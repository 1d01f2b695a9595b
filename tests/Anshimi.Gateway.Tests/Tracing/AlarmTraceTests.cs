using System.Diagnostics;
using System.Text;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Gateway.Health;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Anshimi.Gateway.Tests.Tracing;

/// <summary>
/// One alarm, one trace: the real gateway pipeline and outbox, then the real cloud-bridge ingest, both in this process,
/// each with its own tracer provider exporting to memory; the envelope the gateway published is what the bridge reads.
/// </summary>
public sealed class AlarmTraceTests : IAsyncLifetime
{
    private readonly List<Activity> _gatewaySpans = [];
    private readonly List<Activity> _bridgeSpans = [];
    private readonly FakeMqttClient _bridgeMqtt = new();
    private readonly string _bridgeDirectory = Directory.CreateTempSubdirectory("anshimi-trace-bridge-").FullName;
    private GatewayHarness _gateway = null!;
    private WebApplication _bridge = null!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayHarness.StartAsync(GatewayHarness.CreateDirectory(), new FakeMqttClient(), GatewayHarness.NewClock(),
            [new TestDevice(0x0000A1B2, 1)], services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_gatewaySpans)));

        // The bridge as its host builds it, reading no appsettings file: everything it needs is set here.
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = _bridgeDirectory, EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudBridge:DataDirectory"] = Path.Combine(_bridgeDirectory, "data"),
            ["CloudBridge:DistrictsGeoJson"] = Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson"),
            ["CloudBridge:PublishTimeout"] = "00:00:05",
        });
        builder.Services.AddSingleton<IMqttTransportFactory>(_bridgeMqtt);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_bridgeSpans));
        builder.AddCloudBridge();
        _bridge = builder.Build();

        // What the host's telemetry service does at start.
        _ = _bridge.Services.GetRequiredService<TracerProvider>();
    }

    public async Task DisposeAsync()
    {
        await _bridge.DisposeAsync();
        await _gateway.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_bridgeDirectory, recursive: true);
    }

    /// <summary>The gateway's own <c>device-bound</c> for its devices, handed to the bridge as the link would.</summary>
    private async Task BindAtTheBridgeAsync()
    {
        await _gateway.Get<DeviceStatusReporter>().ReportAsync(CancellationToken.None);
        foreach (PublishedMessage bound in _gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic))
        {
            await _bridge.Services.GetRequiredService<GatewayIngress>().HandleAsync(bound.Topic, bound.Payload, CancellationToken.None);
        }

        _gateway.Mqtt.Clear();
    }

    [Fact]
    public async Task The_gateway_receipt_and_the_bridge_store_console_and_receipt_spans_share_one_trace_with_correct_parents()
    {
        TestDevice bell = _gateway.Devices[0];
        AlarmStore bridgeStore = _bridge.Services.GetRequiredService<AlarmStore>();
        using AlarmSubscription console = _bridge.Services.GetRequiredService<AlarmFeed>().Subscribe();

        await BindAtTheBridgeAsync();
        await _gateway.Pipeline.HandleUplinkAsync(bell.UplinkTopic, bell.Alarm(41), CancellationToken.None);
        PublishedMessage sent = Assert.Single(_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic));
        await _bridge.Services.GetRequiredService<GatewayIngress>().HandleAsync(sent.Topic, sent.Payload, CancellationToken.None);

        Assert.NotNull(await bridgeStore.FindAsync("0000A1B2:41", CancellationToken.None));
        Assert.True(console.Reader.TryRead(out AlarmFeedEvent? shown) && shown.Alarm.Key == "0000A1B2:41", "the console heard the alarm");
        FlushBoth();

        Activity receive = Span(_gatewaySpans, "alarm.receive", "0000A1B2:41");
        Assert.Equal(default, receive.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, receive.Kind);
        Assert.Equal("stored", receive.GetTagItem("anshimi.alarm.outcome"));
        Activity gatewayStore = ChildOf(_gatewaySpans, receive, "alarm.store");
        ChildOf(_gatewaySpans, receive, "alarm.ack");
        Activity send = Span(_gatewaySpans, "alarm.send", "0000A1B2:41");
        Assert.Equal(receive.TraceId, send.TraceId);
        Assert.Equal(receive.SpanId, send.ParentSpanId);
        Assert.True(gatewayStore.StartTimeUtc <= send.StartTimeUtc);

        // The envelope on the wire names the send span as the parent of what the bridge does with it.
        AlarmEnvelope envelope = Assert.IsType<AlarmEnvelope>(Parse(sent.Payload));
        Assert.Equal(send.Id, envelope.TraceParent);

        Activity ingest = Span(_bridgeSpans, "alarm.ingest", "0000A1B2:41");
        Assert.Equal(receive.TraceId, ingest.TraceId);
        Assert.Equal(send.SpanId, ingest.ParentSpanId);
        Assert.Equal(true, ingest.GetTagItem("anshimi.trace.continued"));
        ChildOf(_bridgeSpans, ingest, "alarm.store");
        ChildOf(_bridgeSpans, ingest, "alarm.console");
        ChildOf(_bridgeSpans, ingest, "alarm.receipt");
    }

    [Fact]
    public async Task A_resent_copy_is_another_send_span_in_the_same_trace()
    {
        TestDevice bell = _gateway.Devices[0];
        await _gateway.Pipeline.HandleUplinkAsync(bell.UplinkTopic, bell.Alarm(42), CancellationToken.None);
        await _gateway.Outbox.PublishDueAsync(CancellationToken.None);
        _gateway.Time.Advance(GatewayHarness.RetryInterval + TimeSpan.FromSeconds(1));
        await _gateway.Outbox.PublishDueAsync(CancellationToken.None);
        FlushBoth();

        Activity receive = Span(_gatewaySpans, "alarm.receive", "0000A1B2:42");
        Activity[] sends = [.. _gatewaySpans.Where(s => s.DisplayName == "alarm.send" && Equals(s.GetTagItem("anshimi.alarm.key"), "0000A1B2:42"))];
        Assert.Equal(2, sends.Length);
        Assert.All(sends, s => Assert.Equal(receive.SpanId, s.ParentSpanId));
        Assert.Equal([1, 2], sends.Select(s => (int)s.GetTagItem("anshimi.outbox.attempt")!).Order());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("00-ffffffffffffffffffffffffffffffff-zzzzzzzzzzzzzzzz-01")]
    [InlineData("\"><script>")]
    [InlineData("00-00000000000000000000000000000000-0000000000000000-00")]
    public async Task A_missing_or_hostile_traceparent_starts_a_new_trace_and_the_alarm_is_still_stored(string? traceParent)
    {
        TestDevice bell = _gateway.Devices[0];
        await BindAtTheBridgeAsync();
        await _gateway.Pipeline.HandleUplinkAsync(bell.UplinkTopic, bell.Alarm(43), CancellationToken.None);
        await _gateway.Outbox.PublishDueAsync(CancellationToken.None);
        PublishedMessage sent = Assert.Single(_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic));
        AlarmEnvelope hostile = Assert.IsType<AlarmEnvelope>(Parse(sent.Payload)) with { TraceParent = traceParent, TraceState = "x=\u0001" };

        await _bridge.Services.GetRequiredService<GatewayIngress>().HandleAsync(sent.Topic, EnvelopeSerializer.Serialize(hostile), CancellationToken.None);
        FlushBoth();

        Assert.NotNull(await _bridge.Services.GetRequiredService<AlarmStore>().FindAsync("0000A1B2:43", CancellationToken.None));
        Activity ingest = Span(_bridgeSpans, "alarm.ingest", "0000A1B2:43");
        Assert.Equal(default, ingest.ParentSpanId);
        Assert.NotEqual(Span(_gatewaySpans, "alarm.receive", "0000A1B2:43").TraceId, ingest.TraceId);
        Assert.Equal(false, ingest.GetTagItem("anshimi.trace.continued"));
        ChildOf(_bridgeSpans, ingest, "alarm.store");
    }

    private static Envelope Parse(byte[] payload)
    {
        Assert.True(EnvelopeSerializer.TryParse(payload, out Envelope? envelope, out string error), error + ": " + Encoding.UTF8.GetString(payload));
        return envelope!;
    }

    private void FlushBoth()
    {
        Assert.True(_gateway.Get<TracerProvider>().ForceFlush(5000));
        Assert.True(_bridge.Services.GetRequiredService<TracerProvider>().ForceFlush(5000));
    }

    /// <summary>The one span of that name for that alarm; other tests' bridges and gateways share the activity sources.</summary>
    private static Activity Span(List<Activity> spans, string name, string key)
    {
        lock (spans)
        {
            return Assert.Single(spans, s => s.DisplayName == name && Equals(s.GetTagItem("anshimi.alarm.key"), key));
        }
    }

    private static Activity ChildOf(List<Activity> spans, Activity parent, string name)
    {
        lock (spans)
        {
            Activity child = Assert.Single(spans, s => s.DisplayName == name && s.ParentSpanId == parent.SpanId);
            Assert.Equal(parent.TraceId, child.TraceId);
            return child;
        }
    }
}
