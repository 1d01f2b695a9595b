namespace Anshimi.CloudBridge.App;

public static class AppExtensions
{
    /// <summary>Registers the app back end's API services: its client keys, request reading and the OpenAPI key scheme.</summary>
    public static WebApplicationBuilder AddAppApi(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        services.AddOptions<AppApiOptions>()
            .Bind(builder.Configuration.GetSection(AppApiOptions.SectionName))
            .Validate(o => o.Clients.TrueForAll(c => !string.IsNullOrWhiteSpace(c.Name) && ApiKeyAuthentication.IsValidHash(c.KeySha256)),
                "AppApi:Clients: every client needs a Name and a KeySha256 of 64 hex digits.")
            .ValidateOnStart();

        services.AddSingleton<ApiKeyAuthentication>();
        services.AddSingleton<AppRequestReader>();
        services.AddSingleton<AppRequestBodies>();
        services.Configure<Microsoft.AspNetCore.OpenApi.OpenApiOptions>("v1", o => o.AddDocumentTransformer<AppApiKeyDocumentTransformer>());
        return builder;
    }
}
