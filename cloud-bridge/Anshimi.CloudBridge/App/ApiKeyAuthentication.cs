using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.App;

/// <summary>
/// Checks <c>X-Api-Key</c> against the configured clients: the presented key is hashed with SHA-256 and
/// compared with every configured hash in constant time, so neither timing nor order reveals a near miss.
/// </summary>
public sealed class ApiKeyAuthentication
{
    public const string HeaderName = "X-Api-Key";
    private const string ClientItem = "anshimi.app-client";

    private readonly (string Name, byte[] Hash)[] _clients;

    public ApiKeyAuthentication(IOptions<AppApiOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _clients = options.Value.Clients.Select(c => (c.Name, Convert.FromHexString(c.KeySha256))).ToArray();
    }

    /// <summary>The authenticated client's name; only valid inside the app API group.</summary>
    public static string ClientOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return (string)context.Items[ClientItem]!;
    }

    public static bool IsValidHash(string? hash) => hash is { Length: 64 } && hash.All(char.IsAsciiHexDigit);

    /// <summary>The client name for a presented key, or null.</summary>
    public string? Authenticate(string? presentedKey)
    {
        if (string.IsNullOrEmpty(presentedKey) || presentedKey.Length > 256)
        {
            return null;
        }

        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey));
        string? match = null;
        foreach ((string name, byte[] expected) in _clients)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                match ??= name;
            }
        }

        return match;
    }

    public async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        string? client = Authenticate(context.HttpContext.Request.Headers[HeaderName].ToString());
        if (client is null)
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "ApiKey header=\"" + HeaderName + "\"";
            return TypedResults.Problem(
                title: "Unauthorized",
                detail: "A valid API key is required in the " + HeaderName + " header.",
                statusCode: StatusCodes.Status401Unauthorized);
        }

        context.HttpContext.Items[ClientItem] = client;
        return await next(context);
    }
}
