using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol.Upstream.Provisioning;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Hosting;

/// <summary>
/// Opens the store, resynchronises the downlink counters of a store restored from a backup, and loads the registry
/// before any other service starts, so the first uplink already finds its device and the outbox resumes what a
/// previous run committed.
/// </summary>
public sealed partial class GatewayStartup(
    GatewayDatabase database,
    StoreResynchronisation resync,
    DeviceRegistry registry,
    AlarmStore store,
    HealthStore healthStore,
    DeviceHealthTracker health,
    GatewayMetrics metrics,
    IOptions<GatewayOptions> options,
    ILogger<GatewayStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        GatewayOptions gateway = options.Value;
        await database.InitializeAsync(cancellationToken);
        await resync.RunAsync(cancellationToken);
        if (!string.IsNullOrEmpty(gateway.RegistrySeedFile))
        {
            FleetFile fleet = FleetFile.Load(gateway.RegistrySeedFile);
            if (fleet.GatewayId != gateway.Id)
            {
                LogForeignFleet(logger, fleet.GatewayId, gateway.Id);
            }

            await registry.SeedAsync(fleet, cancellationToken);
            LogSeeded(logger, fleet.Devices.Count, gateway.RegistrySeedFile);
        }

        await registry.LoadAsync(cancellationToken);
        health.Load(await healthStore.LoadAsync(cancellationToken));
        metrics.ObserveGauge("anshimi.gateway.outbox.depth", "{alarm}", "Alarms stored but not yet receipted by the cloud.", () => store.CountOutbox());
        metrics.ObserveGauge("anshimi.gateway.devices", "{device}", "Devices in the registry.", () => registry.Count);
        LogReady(logger, gateway.Id, registry.Count, await store.CountOutboxAsync(cancellationToken), database.Path);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Registry seeded with {Count} devices from {Path}")]
    private static partial void LogSeeded(ILogger logger, int count, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Seed file is for gateway {FleetGatewayId}, this is {GatewayId}; seeding anyway")]
    private static partial void LogForeignFleet(ILogger logger, string fleetGatewayId, string gatewayId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway {GatewayId}: {Devices} devices, {OutboxDepth} alarms awaiting cloud receipt, store {Path}")]
    private static partial void LogReady(ILogger logger, string gatewayId, int devices, int outboxDepth, string path);
}
