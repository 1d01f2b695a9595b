using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Anshimi.CloudBridge.Tests.Upstreams;

/// <summary>One request as the webhook receiver saw it, with its own verdict on the signature.</summary>
public sealed record WebhookRequest(string? IdempotencyKey, string? Timestamp, string? Signature, byte[] Body, bool SignatureValid, long BodySentAt, int AnsweredWith)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

/// <summary>
/// A webhook endpoint on real Kestrel (127.0.0.1, free port): checks each request's signature itself
/// (HMAC-SHA256 of the raw body under the shared secret, written here independently of the bridge's
/// code) and answers with scripted statuses, 200 once the script is used up.
/// </summary>
public sealed class WebhookTestReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly byte[] _secret;
    private readonly ConcurrentQueue<(int Status, string? RetryAfter)> _script = new();
    private readonly ConcurrentQueue<WebhookRequest> _requests = new();

    private WebhookTestReceiver(WebApplication app, string secret)
    {
        _app = app;
        _secret = Encoding.UTF8.GetBytes(secret);
    }

    public Uri Url => new(new Uri(_app.Urls.First()), "/alarms");

    public IReadOnlyList<WebhookRequest> Requests => [.. _requests];

    public static async Task<WebhookTestReceiver> StartAsync(string secret)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        var receiver = new WebhookTestReceiver(app, secret);
        app.MapPost("/alarms", receiver.HandleAsync);
        await app.StartAsync();
        return receiver;
    }

    public void Script(int status, string? retryAfter = null) => _script.Enqueue((status, retryAfter));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        byte[] body = buffer.ToArray();
        string? signature = context.Request.Headers["X-Anshimi-Signature"];
        string expected = "sha256=" + Convert.ToHexString(HMACSHA256.HashData(_secret, body)).ToLowerInvariant();
        bool valid = signature is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(expected));
        long sentAt = JsonDocument.Parse(body).RootElement.GetProperty("sentAt").GetInt64();
        (int status, string? retryAfter) = _script.TryDequeue(out var next) ? next : (200, null);
        _requests.Enqueue(new WebhookRequest(context.Request.Headers["Idempotency-Key"], context.Request.Headers["X-Anshimi-Timestamp"], signature, body, valid, sentAt, status));
        if (retryAfter is not null)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        context.Response.StatusCode = status;
    }
}
