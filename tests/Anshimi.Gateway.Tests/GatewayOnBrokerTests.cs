using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Hosting;
using Anshimi.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace Anshimi.Gateway.Tests;

/// <summary>
/// Tests of the gateway on a real broker, watched through its HTTP endpoints: a fresh <see cref="BrokerFixture"/>
/// per test, an HTTP client, and polling until a condition holds.
/// </summary>
public abstract class GatewayOnBrokerTests : IAsyncLifetime
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    protected HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    protected BrokerFixture Fixture { get; private set; } = null!;

    public async Task InitializeAsync() => Fixture = await StartFixtureAsync();

    /// <summary>The broker and fleet of each test; by default one bell.</summary>
    protected virtual Task<BrokerFixture> StartFixtureAsync() => BrokerFixture.StartAsync();

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Fixture.DisposeAsync();
    }

    /// <summary>The gateway host as Program.cs builds it, configured like a deployment's environment.</summary>
    protected static WebApplication BuildGateway(Dictionary<string, string> environment)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(environment.Select(pair => new KeyValuePair<string, string?>(pair.Key.Replace("__", ":", StringComparison.Ordinal), pair.Value)));
        builder.WebHost.UseUrls(environment["Urls"]);
        builder.AddServiceDefaults(GatewayTelemetry.Service);
        builder.Services.AddGateway(builder.Configuration);
        WebApplication app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }

    protected static async Task WaitForAsync(Func<Task<bool>> condition, CancellationToken cancellationToken = default)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met within " + Patience);
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}
