using Anshimi.CloudBridge.Escorts;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.App;

/// <summary>
/// Reads an app request body itself, so every failure is a clear problem+json: 415 not JSON, 413 larger
/// than <see cref="EscortOptions.MaxRequestBytes"/> (declared or actual). <see cref="AppRequestBodies"/> parses
/// and checks the bytes.
/// </summary>
public sealed class AppRequestReader
{
    private readonly int _maxBytes;

    public AppRequestReader(IOptions<EscortOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _maxBytes = options.Value.MaxRequestBytes;
    }

    public int MaxBytes => _maxBytes;

    public async Task<(byte[]? Body, IResult? Problem)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.HasJsonContentType())
        {
            return (null, AppProblems.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "The body must be application/json."));
        }

        if (request.ContentLength > _maxBytes)
        {
            return (null, TooLarge());
        }

        // Kestrel enforces the same limit on a chunked body, before anything is buffered.
        IHttpMaxRequestBodySizeFeature? limit = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (limit is { IsReadOnly: false })
        {
            limit.MaxRequestBodySize = _maxBytes;
        }

        try
        {
            using var buffer = new MemoryStream();
            byte[] chunk = new byte[8192];
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > _maxBytes)
                {
                    return (null, TooLarge());
                }
            }

            return (buffer.ToArray(), null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge());
        }
    }

    private IResult TooLarge() => AppProblems.Problem(
        StatusCodes.Status413PayloadTooLarge, "Body too large", $"The body may be at most {_maxBytes} bytes.");
}

internal static class AppProblems
{
    public static IResult Problem(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: status, extensions: extensions);

    public static IResult Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "Invalid request", detail: "See errors for each field.");

    public static IResult UnknownSession(string id) =>
        Problem(StatusCodes.Status404NotFound, "Unknown session", $"No escort session {Trim(id)} for this client.");

    public static IResult EndedSession(string id, string? state) =>
        Problem(StatusCodes.Status409Conflict, "Session ended", $"Escort session {Trim(id)} has ended{(state is null ? "" : " (" + state + ")")}.",
            new Dictionary<string, object?> { ["state"] = state });

    private static string Trim(string text) => text.Length > 16 ? text[..16] : text;
}
