using System.Diagnostics.Metrics;
using System.Net;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Upstreams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// A whole bridge host on a PostgreSQL server that is then SIGKILLed, with the stores told to ride out faults for a
/// minute (<c>Storage:RetryFor</c>): the health probe still answers within seconds, Unhealthy with the reason, and a
/// metrics scrape leaves the upstream series out instead of failing on PostgreSQL's fault; both recover with the server.
/// </summary>
[Trait("Category", "HighAvailability")]
[Trait("Category", "Storage")]
public sealed class StoreOutageOnPostgreSqlTests : IAsyncLifetime
{
    // Far longer than any probe may take, so a probe that rides the stores' retries is caught by the client's timeout.
    private static readonly TimeSpan RetryFor = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ProbeAnswersWithin = CloudBridgeHealthCheck.StoreAnswersWithin + TimeSpan.FromSeconds(7);

    private PostgresServer _server = null!;
    private TestStorage _storage = null!;
    private CloudBridgeHost _host = null!;

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartAsync();
        _storage = await TestStorage.CreateAsync(StorageProvider.PostgreSql, _server);
        // One upstream, so a collection has a series to leave out; nothing is sent to it.
        var settings = new Dictionary<string, string?>(new UpstreamSettings().Webhook("outage-hook", new Uri("http://127.0.0.1:9/"), "outage-hook-secret-0001").Values)
        {
            ["Storage:RetryFor"] = RetryFor.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (KeyValuePair<string, string?> setting in _storage.Settings)
        {
            settings[setting.Key] = setting.Value;
        }

        _host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), settings, _storage.DataDirectory);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _storage.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task The_health_probe_answers_unhealthy_with_the_reason_within_seconds_while_postgresql_is_down()
    {
        using var probe = new HttpClient { BaseAddress = _host.BaseAddress, Timeout = ProbeAnswersWithin };
        Assert.Equal("Healthy", await probe.GetStringAsync(new Uri("/healthz", UriKind.Relative)));

        await _server.KillAsync();

        using HttpResponseMessage down = await probe.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("Unhealthy", await down.Content.ReadAsStringAsync());
        using var bounded = new CancellationTokenSource(ProbeAnswersWithin);
        HealthReport report = await _host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(bounded.Token);
        HealthReportEntry entry = report.Entries["cloud-bridge"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.StartsWith("alarm store ", entry.Description, StringComparison.Ordinal);

        await _server.RestartAsync();
        await Eventually.HoldsAsync(async () => await probe.GetStringAsync(new Uri("/healthz", UriKind.Relative)) == "Healthy", "healthy again", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_metrics_collection_leaves_the_upstream_series_out_while_postgresql_is_down_and_has_them_again_after()
    {
        using var pending = new PendingSeries(_host);
        Assert.Equal([0L], pending.Collect());

        await _server.KillAsync();
        using var bounded = new CancellationTokenSource(ProbeAnswersWithin);
        Assert.Empty(await Task.Run(pending.Collect, bounded.Token).WaitAsync(bounded.Token));

        await _server.RestartAsync();
        await Eventually.HoldsAsync(() => pending.Collect().Count > 0, "the upstream series back", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_postgresql_error_reading_the_upstream_tables_leaves_the_series_out_instead_of_failing_the_collection()
    {
        using var pending = new PendingSeries(_host);
        Assert.Equal([0L], pending.Collect());

        // Not transient, so not retried: PostgreSQL answers 42P01 (undefined table) at once.
        await SqlAsync("ALTER TABLE upstream_deliveries RENAME TO upstream_deliveries_away;");
        Assert.Empty(pending.Collect());

        await SqlAsync("ALTER TABLE upstream_deliveries_away RENAME TO upstream_deliveries;");
        await Eventually.HoldsAsync(() => pending.Collect().Count > 0, "the upstream series back", TimeSpan.FromSeconds(30));
    }

    private async Task SqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_storage.Options.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>This host's <c>anshimi.upstream.pending</c> series, collected as a scrape collects them.</summary>
    private sealed class PendingSeries : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<long> _values = [];

        public PendingSeries(CloudBridgeHost host)
        {
            var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meterFactory) && instrument.Name == "anshimi.upstream.pending")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => _values.Add(value));
            _listener.Start();
        }

        public List<long> Collect()
        {
            _values.Clear();
            _listener.RecordObservableInstruments();
            return [.. _values];
        }

        public void Dispose() => _listener.Dispose();
    }
}
