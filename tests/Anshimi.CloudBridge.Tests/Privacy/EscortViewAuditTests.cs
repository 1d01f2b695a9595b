using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Api;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Tests.App;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Privacy;

/// <summary>
/// A walker on the operators' map over real HTTP: the first time an operator's map shows an escort is audited, once
/// per operator and escort however often the map refreshes; the escort's origin and destination are never shown.
/// </summary>
[Trait("Category", "Privacy")]
public sealed class EscortViewAuditTests : IAsyncLifetime
{
    private readonly string _cityDirectory = Directory.CreateTempSubdirectory("privacy-city-").FullName;
    private CloudBridgeHost _bridge = null!;

    public async Task InitializeAsync()
    {
        Dictionary<string, string?> settings = AppTestCity.Settings(_cityDirectory);
        TestOperators.AddExtraSeed(settings, TestOperators.Junggu);
        _bridge = await CloudBridgeHost.StartAsync(new FakeMqttClient(), settings);
    }

    public async Task DisposeAsync()
    {
        await _bridge.DisposeAsync();
        Directory.Delete(_cityDirectory, recursive: true);
    }

    [Fact]
    public async Task Each_operator_who_sees_an_escort_on_the_map_is_audited_once_and_one_who_cannot_see_it_is_not()
    {
        string id = await AppRequests.StartEscortAsync(_bridge.Http, AppTestCity.Along(5), AppTestCity.Along(570));
        await AppRequests.MoveAsync(_bridge.Http, id, AppTestCity.Along(95));
        using HttpClient junggu = await _bridge.SignedInAsync(TestOperators.Junggu);
        using HttpClient gangnam = await _bridge.SignedInAsync(TestOperators.Gangnam);

        for (int refresh = 0; refresh < 3; refresh++)
        {
            foreach (HttpClient client in new[] { junggu, gangnam })
            {
                string layers = await client.GetStringAsync(new Uri("/api/map/layers", UriKind.Relative));
                Assert.DoesNotContain("origin", layers, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("destination", layers, StringComparison.OrdinalIgnoreCase);
            }
        }

        AuditLog audit = _bridge.Services.GetRequiredService<AuditLog>();
        AuditRecord view = Assert.Single(await audit.ListAsync(50, MapEndpoints.EscortTarget(id), CancellationToken.None));
        Assert.Equal((AuditAction.EscortView, TestOperators.Junggu.UserName, TestOperators.JungguCode), (view.Entry.Action, view.Entry.Actor, view.Entry.District));
        JsonElement gangnamLayers = await gangnam.GetFromJsonAsync<JsonElement>(new Uri("/api/map/layers", UriKind.Relative));
        Assert.Empty(gangnamLayers.EnumerateArray().Single(l => l.GetProperty("layer").GetString() == "escorts").GetProperty("markers").EnumerateArray());
    }
}
