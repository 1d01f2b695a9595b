using System.Globalization;
using System.Net;
using System.Text.Json;
using Anshimi.CloudBridge.Upstreams;
using Anshimi.CloudBridge.Upstreams.Webhooks;
using Anshimi.Testing;

namespace Anshimi.CloudBridge.Tests.Upstreams;

[Trait("Category", "Integration")]
public sealed class WebhookUpstreamTests
{
    private const string Secret = "webhook-shared-secret-0123456789";
    private const string Hook = "district-webhook";

    [Fact]
    public async Task An_alarm_is_posted_as_signed_JSON_with_its_key_and_a_timestamp_inside_the_signed_body()
    {
        await using WebhookTestReceiver receiver = await WebhookTestReceiver.StartAsync(Secret);
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Webhook(Hook, receiver.Url, Secret).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x51, 3, TestAlarms.GangnamGuOffice));
        await Eventually.HoldsAsync(() => receiver.Requests.Count == 1, "one POST");

        WebhookRequest request = Assert.Single(receiver.Requests);
        Assert.True(request.SignatureValid, "signature " + request.Signature);
        Assert.Equal("00000051:3", request.IdempotencyKey);
        Assert.Equal(request.BodySentAt.ToString(CultureInfo.InvariantCulture), request.Timestamp);
        Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - request.BodySentAt, 0, 30);
        JsonElement json = request.Json;
        Assert.Equal("00000051:3", json.GetProperty("key").GetString());
        Assert.Equal(120, json.GetProperty("event").GetProperty("code").GetInt32());
        Assert.Equal("11680", json.GetProperty("site").GetProperty("district").GetString());
        Assert.False(json.GetProperty("test").GetBoolean());
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, Hook)).Delivered == 1, "delivered");
    }

    [Fact]
    public async Task Server_errors_and_429_are_retried_with_the_same_key_each_time_freshly_signed()
    {
        await using WebhookTestReceiver receiver = await WebhookTestReceiver.StartAsync(Secret);
        receiver.Script(503);
        receiver.Script(429, retryAfter: "1");
        receiver.Script(408);
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Webhook(Hook, receiver.Url, Secret).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x52, 1));
        await Eventually.HoldsAsync(() => receiver.Requests.Count == 4, "four POSTs");
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, Hook)).Delivered == 1, "delivered");

        Assert.Equal([503, 429, 408, 200], receiver.Requests.Select(r => r.AnsweredWith));
        Assert.All(receiver.Requests, r => Assert.Equal("00000052:1", r.IdempotencyKey));
        Assert.All(receiver.Requests, r => Assert.True(r.SignatureValid));
        Assert.Equal(3, (await UpstreamApi.StatusAsync(host, Hook)).FailedAttemptsSinceStart);
    }

    [Fact]
    public async Task A_4xx_answer_holds_the_alarm_pending_with_its_reason_without_retrying_it_or_holding_up_the_next()
    {
        await using WebhookTestReceiver receiver = await WebhookTestReceiver.StartAsync(Secret);
        receiver.Script(422);
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Webhook(Hook, receiver.Url, Secret).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x53, 1));
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x54, 1));
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, Hook)).Delivered == 1, "second delivered");

        Assert.Equal(["00000053:1", "00000054:1"], receiver.Requests.Select(r => r.IdempotencyKey));
        UpstreamStatusView status = await UpstreamApi.StatusAsync(host, Hook);
        Assert.Equal((1L, 1L), (status.Held, status.Pending));
        WaitingDeliveryView held = Assert.Single(status.Waiting);
        Assert.Equal(("00000053:1", true), (held.AlarmKey, held.Held));
        Assert.Contains("HTTP 422", held.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_webhook_that_refuses_connections_keeps_the_alarm_until_it_listens()
    {
        int port = FreePort.Next();
        var url = new Uri($"http://127.0.0.1:{port}/alarms");
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Webhook(Hook, url, Secret).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x55, 1));
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, Hook)).FailedAttemptsSinceStart >= 2, "failed attempts");
        UpstreamStatusView down = await UpstreamApi.StatusAsync(host, Hook);
        Assert.Equal((UpstreamState.Retrying, 1L), (down.State, down.Pending));
        Assert.Contains("connection failed", down.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_webhook_that_accepts_the_connection_but_never_answers_is_a_timeout_and_retried()
    {
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var url = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/alarms");
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Webhook(Hook, url, Secret).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x56, 1));
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, Hook)).FailedAttemptsSinceStart >= 1, "a timed-out attempt");

        UpstreamStatusView status = await UpstreamApi.StatusAsync(host, Hook);
        Assert.Equal((UpstreamState.Retrying, 1L), (status.State, status.Pending));
        Assert.StartsWith("no answer within", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_test_alarm_is_posted_marked_as_a_test()
    {
        await using WebhookTestReceiver receiver = await WebhookTestReceiver.StartAsync(Secret);
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Webhook(Hook, receiver.Url, Secret).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x57, 1) with { Test = true });
        await Eventually.HoldsAsync(() => receiver.Requests.Count == 1, "one POST");

        Assert.True(receiver.Requests[0].Json.GetProperty("test").GetBoolean());
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, true)]
    [InlineData(HttpStatusCode.BadGateway, true)]
    [InlineData(HttpStatusCode.ServiceUnavailable, true)]
    [InlineData(HttpStatusCode.RequestTimeout, true)]
    [InlineData(HttpStatusCode.TooManyRequests, true)]
    [InlineData(HttpStatusCode.BadRequest, false)]
    [InlineData(HttpStatusCode.Unauthorized, false)]
    [InlineData(HttpStatusCode.NotFound, false)]
    [InlineData(HttpStatusCode.Conflict, false)]
    [InlineData(HttpStatusCode.MovedPermanently, false)]
    public void Only_408_429_and_5xx_are_transient(HttpStatusCode status, bool transient) =>
        Assert.Equal(transient, WebhookUpstream.IsTransient(status));

    [Fact]
    public void The_signature_is_the_lower_case_hex_HMAC_SHA256_of_the_body()
    {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        Assert.Equal(
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            WebhookUpstream.Sign("Jefe"u8, "what do ya want for nothing?"u8));
    }
}
