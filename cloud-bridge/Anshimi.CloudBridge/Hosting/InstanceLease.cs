using Anshimi.CloudBridge.Storage;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Hosting;

/// <summary>
/// This instance's liveness among the instances sharing one PostgreSQL database: a row in <c>bridge_instances</c>
/// (named by the instance's MQTT client id, the owner of its outbox leases) whose <c>alive_until_ms</c> it pushes
/// <see cref="CloudBridgeOptions.InstanceLease"/> ahead every fifth of that. An outbox row leased to an instance whose
/// row has run out is due for the others at once, so a dead instance's acks and deliveries wait seconds, not their own
/// leases. In turn this instance sends what it holds only while its own row is valid (<see cref="Remaining"/>), so once
/// the others may take over it has stopped. On SQLite (one instance) nothing is written and nothing is ever taken over.
/// </summary>
public sealed partial class InstanceLease : BackgroundService
{
    private readonly StoreDatabase _database;
    private readonly TimeProvider _time;
    private readonly ILogger<InstanceLease> _logger;
    private readonly TimeSpan _lease;
    private long _aliveUntilMs;

    public InstanceLease(StoreDatabase alarmFile, IOptions<CloudBridgeOptions> options, IOptions<Anshimi.Mqtt.MqttClientOptions> mqttOptions, TimeProvider time, ILogger<InstanceLease> logger)
    {
        ArgumentNullException.ThrowIfNull(alarmFile);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(mqttOptions);
        _database = alarmFile;
        Instance = mqttOptions.Value.ClientId!;
        _lease = options.Value.InstanceLease;
        _time = time;
        _logger = logger;
        _aliveUntilMs = IsShared ? 0 : long.MaxValue;
    }

    /// <summary>The owner name of this instance's leases.</summary>
    public string Instance { get; }

    /// <summary>True when other instances may share the database (PostgreSQL) and so may take over this one's rows.</summary>
    public bool IsShared => _database.Dialect.Provider == StorageProvider.PostgreSql;

    /// <summary>How much longer this instance may act on rows it has claimed: zero once the others may take them.</summary>
    public TimeSpan Remaining(DateTimeOffset now)
    {
        long until = Interlocked.Read(ref _aliveUntilMs);
        if (until == long.MaxValue)
        {
            return Timeout.InfiniteTimeSpan;
        }

        long left = until - now.ToUnixTimeMilliseconds();
        return left > 0 ? TimeSpan.FromMilliseconds(left) : TimeSpan.Zero;
    }

    /// <summary>Takes the lease before any outbox claims a row.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (IsShared)
        {
            await RenewAsync(cancellationToken);
        }

        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!IsShared)
        {
            return;
        }

        // A clean stop hands what this instance holds to the others at once.
        Interlocked.Exchange(ref _aliveUntilMs, 0);
        try
        {
            await _database.WriteAsync((connection, ct) => StoreDatabase.ExecuteAsync(connection,
                "UPDATE bridge_instances SET alive_until_ms = 0 WHERE instance = @instance;", ct, ("instance", Instance)), cancellationToken);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or OperationCanceledException)
        {
            LogNotHandedOver(_logger, ex.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!IsShared)
        {
            return;
        }

        using var timer = new PeriodicTimer(_lease / 5, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await RenewAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRenewFailed(_logger, ex, Remaining(_time.GetUtcNow()));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        // Counted from before the write, so this instance never believes itself alive longer than the others do.
        long until = (_time.GetUtcNow() + _lease).ToUnixTimeMilliseconds();
        await _database.WriteAsync((connection, ct) => StoreDatabase.ExecuteAsync(connection, """
            INSERT INTO bridge_instances (instance, alive_until_ms) VALUES (@instance, @until)
            ON CONFLICT (instance) DO UPDATE SET alive_until_ms = excluded.alive_until_ms;
            """, ct, ("instance", Instance), ("until", until)), cancellationToken);
        Interlocked.Exchange(ref _aliveUntilMs, until);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance lease not renewed ({Remaining} left before the other instances take this one's acks and deliveries)")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, TimeSpan remaining);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance lease not handed over on stop ({Reason}); it runs out by itself")]
    private static partial void LogNotHandedOver(ILogger logger, string reason);
}
