namespace Anshimi.CloudBridge.App;

/// <summary>One client of the app API (an Anshimi app back end) and the SHA-256 of its key.</summary>
public sealed class AppClientOptions
{
    public string Name { get; set; } = "";

    /// <summary>SHA-256 of the client's API key, 64 hex digits; the key itself is never configured.</summary>
    public string KeySha256 { get; set; } = "";
}

/// <summary>The app back-end API; bound from configuration section "AppApi".</summary>
public sealed class AppApiOptions
{
    public const string SectionName = "AppApi";

    public List<AppClientOptions> Clients { get; } = [];
}
