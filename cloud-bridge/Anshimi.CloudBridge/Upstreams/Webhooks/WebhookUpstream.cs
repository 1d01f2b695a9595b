using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Cameras;

namespace Anshimi.CloudBridge.Upstreams.Webhooks;

/// <summary>
/// POSTs each alarm as JSON to a receiver's URL, signed with HMAC-SHA256 over the raw body. 2xx is
/// delivery; 408, 429, 5xx, timeouts and connection errors are transient (Retry-After honoured);
/// any other status is a rejection that sending again would not change.
/// </summary>
public sealed class WebhookUpstream : IUpstream
{
    public const string SignatureHeader = "X-Anshimi-Signature";
    public const string TimestampHeader = "X-Anshimi-Timestamp";
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private readonly WebhookUpstreamOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly byte[] _secret;
    private readonly SiteSurroundings? _surroundings;

    /// <param name="surroundings">Adds the neighbourhood and nearest cameras to each alarm; null leaves them out.</param>
    public WebhookUpstream(WebhookUpstreamOptions options, TimeProvider time, SiteSurroundings? surroundings = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _surroundings = surroundings;
        _time = time;
        _secret = Encoding.UTF8.GetBytes(options.Secret);

        // No redirects: a signed alarm goes only where it was configured to go.
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public string Name => _options.Name;

    public string Kind => "webhook";

    public string? Link => null;

    /// <summary><c>sha256=</c> and the lower-case hex HMAC-SHA256 of <paramref name="body"/> under <paramref name="secret"/>.</summary>
    public static string Sign(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(secret, body));

    /// <summary>Which HTTP answers are worth sending again.</summary>
    public static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    public async Task<DeliveryResult> DeliverAsync(AlarmRecord alarm, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        UpstreamAlarmMessage message = UpstreamAlarmMessage.From(alarm, _surroundings?.Of(alarm), now);
        byte[] body = message.ToUtf8Json();
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url)
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(SignatureHeader, Sign(_secret, body));
        request.Headers.Add(TimestampHeader, message.SentAt.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(IdempotencyKeyHeader, alarm.Key);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            int code = (int)response.StatusCode;
            string detail = $"HTTP {code} {response.ReasonPhrase}";
            if (response.IsSuccessStatusCode)
            {
                return DeliveryResult.Delivered(detail);
            }

            return IsTransient(response.StatusCode)
                ? DeliveryResult.Transient(detail, RetryAfter(response.Headers.RetryAfter, now))
                : DeliveryResult.Held(detail);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DeliveryResult.Transient($"no answer within {_options.Timeout}");
        }
        catch (HttpRequestException ex)
        {
            return DeliveryResult.Transient("connection failed: " + ex.Message);
        }
    }

    public Task RunAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } when date > now => date - now,
        _ => null,
    };
}
