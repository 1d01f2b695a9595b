using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Anshimi.CloudBridge.App;

/// <summary>Declares the <c>X-Api-Key</c> scheme in the OpenAPI document and requires it on every app endpoint.</summary>
internal sealed class AppApiKeyDocumentTransformer : IOpenApiDocumentTransformer
{
    private const string SchemeName = "AppApiKey";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            Name = ApiKeyAuthentication.HeaderName,
            In = ParameterLocation.Header,
            Description = "A client's API key; the bridge stores only its SHA-256.",
        };
        foreach ((string path, IOpenApiPathItem item) in document.Paths)
        {
            if (!path.StartsWith(AppEndpoints.Prefix, StringComparison.Ordinal) || item.Operations is null)
            {
                continue;
            }

            foreach (OpenApiOperation operation in item.Operations.Values)
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, document)] = [] });
            }
        }

        return Task.CompletedTask;
    }
}
