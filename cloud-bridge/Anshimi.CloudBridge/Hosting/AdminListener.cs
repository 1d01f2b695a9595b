namespace Anshimi.CloudBridge.Hosting;

/// <summary>
/// The optional admin listener (<see cref="CloudBridgeOptions.AdminUrl"/>, loopback by default): where Prometheus
/// scrapes <c>/metrics</c> and ops tools read <c>/api/upstreams</c> and <c>/openapi/v1.json</c> without an operator
/// session. It serves only those paths and <c>/healthz</c>; on the console's listener they need central staff's
/// sign-in. A request is told apart by the local port it arrived on, which a client cannot choose (unlike the Host
/// header).
/// </summary>
public sealed class AdminListener
{
    public static readonly string[] Paths = ["/metrics", "/healthz", "/api/upstreams", "/openapi/v1.json"];

    private readonly int? _port;

    public AdminListener(Microsoft.Extensions.Options.IOptions<CloudBridgeOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _port = PortOf(options.Value.AdminUrl);
    }

    /// <summary>The admin URL's port; null when there is no admin listener. Throws for a URL without an explicit port.</summary>
    public static int? PortOf(string? adminUrl)
    {
        if (string.IsNullOrWhiteSpace(adminUrl))
        {
            return null;
        }

        if (!Uri.TryCreate(adminUrl, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https") || uri.IsDefaultPort || uri.Port == 0)
        {
            throw new InvalidOperationException($"CloudBridge:AdminUrl must be an http(s) URL with its own port, e.g. http://127.0.0.1:5081 (was {adminUrl}).");
        }

        return uri.Port;
    }

    public bool Serves(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return _port is int port && context.Connection.LocalPort == port;
    }

    /// <summary>Adds the admin URL to the host's listen addresses.</summary>
    public static void Listen(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string? adminUrl = builder.Configuration[CloudBridgeOptions.SectionName + ":" + nameof(CloudBridgeOptions.AdminUrl)];
        if (PortOf(adminUrl) is null)
        {
            return;
        }

        string? urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
        builder.WebHost.UseUrls(string.IsNullOrWhiteSpace(urls) ? ["http://localhost:5000", adminUrl!] : [.. urls.Split(';', StringSplitOptions.RemoveEmptyEntries), adminUrl!]);
    }

    /// <summary>On the admin listener, everything but <see cref="Paths"/> is absent (404).</summary>
    public static IApplicationBuilder KeepToAdminPaths(IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        AdminListener admin = app.ApplicationServices.GetRequiredService<AdminListener>();
        return app.Use((context, next) =>
        {
            if (admin.Serves(context) && !Paths.Any(p => context.Request.Path.Equals(p, StringComparison.OrdinalIgnoreCase)))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
    }
}
