using Anshimi.Gateway.Ble;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Lights;

/// <summary>
/// Carries the cloud's light commands to the streetlights (protocol/README.md §3, §5): one signed command frame per
/// light (its key, its downlink counter) goes into the broadcast rotation; a beacon showing the commanded mode
/// (release: the schedule) confirms it; at <c>expiresAt</c> an unconfirmed light has expired. Each light gets one
/// <see cref="LightOutcomeEnvelope"/> upstream. A newer request for a light supersedes the older one. Escort and
/// emergency requests with a hold time are refreshed with fresh frames until they expire, so a light holds the mode
/// exactly while the cloud asks for it. A frame not confirmed within <see cref="UnconfirmedResign"/>, and the repair of a
/// light that fell back, are signed from the light's next command block, past what a light refuses after a power cut.
/// Requests live in memory: after a restart the cloud sends them again.
/// </summary>
public sealed partial class LightFanout(
    DeviceRegistry registry,
    LightStore store,
    BleBroadcaster broadcaster,
    [FromKeyedServices(CloudLink.SessionKey)] MqttSession mqtt,
    IOptions<GatewayOptions> gateway,
    BleMetrics metrics,
    RejectLog rejectLog,
    DownlinkSealer sealer,
    TimeProvider time,
    ILogger<LightFanout> logger)
{
    /// <summary>The registry profile of streetlight controllers; other devices are not lights.</summary>
    public const string LightProfile = "streetlight";

    public const string BadLightCommand = "bad_light_command";

    private static readonly TimeSpan MinRefresh = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRefresh = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A frame its light has not confirmed by then is signed again from the light's next command block: a light that lost
    /// power refuses the rest of the block it last wrote to flash (protocol/README.md §2).
    /// </summary>
    public static readonly TimeSpan UnconfirmedResign = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly Dictionary<uint, LightTask> _tasks = [];
    private readonly Queue<LightOutcomeEnvelope> _unsent = new();

    /// <summary>Lights with a request in progress (unconfirmed, or confirmed and being refreshed).</summary>
    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _tasks.Count;
            }
        }
    }

    public static string SlotKey(uint lightId) => "light:" + DeviceIdText.Format(lightId);

    /// <summary>Starts a light command; unknown lights are answered at once. Invalid envelopes are counted and dropped.</summary>
    public async Task SubmitAsync(LightCommandEnvelope command, CancellationToken cancellationToken)
    {
        if (!LightModeName.TryParse(command.Mode, out byte mode) || command.HoldSeconds is < 0 or > ushort.MaxValue ||
            (mode == LightMode.Escort && command.HoldSeconds == 0) || string.IsNullOrEmpty(command.RequestId) || command.Lights.Count == 0)
        {
            metrics.Gateway.CommandRejected(BadLightCommand);
            rejectLog.Report(BadLightCommand, "request " + command.RequestId + " mode " + command.Mode + " hold " + command.HoldSeconds + " lights " + command.Lights.Count);
            return;
        }

        DateTimeOffset now = time.GetUtcNow();
        foreach (string lightText in command.Lights.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (!DeviceIdText.TryParse(lightText, out uint lightId) || !registry.TryGet(lightId, out DeviceEntry light) ||
                !string.Equals(light.Profile, LightProfile, StringComparison.Ordinal))
            {
                Report(command.RequestId, lightText, command.Mode, LightOutcomeName.UnknownLight, now);
                continue;
            }

            lock (_lock)
            {
                if (_tasks.TryGetValue(lightId, out LightTask? current))
                {
                    if (current.RequestId == command.RequestId)
                    {
                        // The cloud resent the same request: it is already on its way.
                        continue;
                    }

                    if (!current.Confirmed)
                    {
                        Report(current.RequestId, DeviceIdText.Format(lightId), current.ModeName, LightOutcomeName.Superseded, now);
                    }
                }

                _tasks[lightId] = new LightTask(command.RequestId, lightId, light, mode, command.Mode, (ushort)command.HoldSeconds, command.ExpiresAt)
                {
                    ResignAt = now + UnconfirmedResign,
                };
            }

            await PutOnAirAsync(lightId, command.ExpiresAt, cancellationToken, initial: true);
            LogSubmitted(logger, command.RequestId, DeviceIdText.Format(lightId), command.Mode, command.ExpiresAt);
        }

        await PublishOutcomesAsync(cancellationToken);
    }

    /// <summary>An authentic beacon from <paramref name="lightId"/> shows <paramref name="mode"/>.</summary>
    public void OnBeacon(uint lightId, byte mode)
    {
        lock (_lock)
        {
            if (!_tasks.TryGetValue(lightId, out LightTask? task))
            {
                return;
            }

            DateTimeOffset now = time.GetUtcNow();
            if (mode != task.Mode)
            {
                // A confirmed light that fell back (rebooted, hold ran out early) is repaired at the next tick, from its
                // next command block in case it lost power.
                if (task.Confirmed && task.Refreshes)
                {
                    task.NextRefreshAt = now;
                    task.NextBlock = true;
                }

                return;
            }

            if (task.Confirmed)
            {
                return;
            }

            task.Confirmed = true;
            Report(task.RequestId, DeviceIdText.Format(lightId), task.ModeName, LightOutcomeName.Confirmed, now);
            broadcaster.Remove(SlotKey(lightId));
            if (task.Refreshes)
            {
                task.NextRefreshAt = now + task.RefreshPeriod;
            }
            else
            {
                _tasks.Remove(lightId);
            }
        }
    }

    /// <summary>Expires what is due, refreshes confirmed holds, and publishes outcomes not yet out.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = time.GetUtcNow();
        var refresh = new List<(uint LightId, DateTimeOffset Until, bool NextBlock)>();
        lock (_lock)
        {
            foreach (LightTask task in _tasks.Values.ToList())
            {
                if (now >= task.ExpiresAt)
                {
                    if (!task.Confirmed)
                    {
                        Report(task.RequestId, DeviceIdText.Format(task.LightId), task.ModeName, LightOutcomeName.Expired, now);
                    }

                    _tasks.Remove(task.LightId);
                    broadcaster.Remove(SlotKey(task.LightId));
                }
                else if (task.Confirmed && task.Refreshes && now >= task.NextRefreshAt)
                {
                    task.NextRefreshAt = now + task.RefreshPeriod;
                    DateTimeOffset until = now + task.RefreshPeriod / 2;
                    refresh.Add((task.LightId, until < task.ExpiresAt ? until : task.ExpiresAt, task.NextBlock));
                    task.NextBlock = false;
                }
                else if (!task.Confirmed && now >= task.ResignAt)
                {
                    refresh.Add((task.LightId, task.ExpiresAt, true));
                }
            }
        }

        foreach ((uint lightId, DateTimeOffset until, bool nextBlock) in refresh)
        {
            await PutOnAirAsync(lightId, until, cancellationToken, nextBlock: nextBlock);
        }

        await PublishOutcomesAsync(cancellationToken);
    }

    /// <summary>Signs a fresh frame for the light's current request and puts it into the rotation.</summary>
    private async Task PutOnAirAsync(uint lightId, DateTimeOffset until, CancellationToken cancellationToken, bool initial = false, bool nextBlock = false)
    {
        uint counter = await store.TakeDownlinkCounterAsync(lightId, cancellationToken, nextBlock);
        lock (_lock)
        {
            // A beacon may have confirmed the light while the counter was being taken: then only refreshes go on air.
            if (!_tasks.TryGetValue(lightId, out LightTask? task) || (initial && task.Confirmed))
            {
                return;
            }

            task.ResignAt = time.GetUtcNow() + UnconfirmedResign;

            byte[] frame = sealer.Seal(task.Light, FramePayloads.Command(lightId, counter, task.Mode, task.HoldSeconds));
            var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
            int length = BleAdvertisement.Write(frame, 0, frame.Length, withFlags: false, advertisement, 0);
            broadcaster.Put(SlotKey(lightId), advertisement[..length], until, counter);
        }

        metrics.Advertised("command");
    }

    private void Report(string requestId, string lightId, string mode, string outcome, DateTimeOffset at)
    {
        lock (_lock)
        {
            _unsent.Enqueue(new LightOutcomeEnvelope(requestId, gateway.Value.Id, lightId, mode, outcome, at));
        }

        metrics.Outcome(outcome);
        LogOutcome(logger, requestId, lightId, mode, outcome);
    }

    private async Task PublishOutcomesAsync(CancellationToken cancellationToken)
    {
        string topic = Topics.GatewayEvents(gateway.Value.Id);
        while (true)
        {
            LightOutcomeEnvelope? next;
            lock (_lock)
            {
                if (!_unsent.TryPeek(out next))
                {
                    return;
                }
            }

            try
            {
                await mqtt.PublishAsync(topic, EnvelopeSerializer.Serialize(next), MqttQos.AtLeastOnce, retain: false, cancellationToken);
            }
            catch (MqttTransportException ex)
            {
                // Kept in order; the next tick tries again.
                LogOutcomeNotPublished(logger, next.RequestId, next.LightId, ex.Message);
                return;
            }

            lock (_lock)
            {
                _unsent.Dequeue();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Light command {RequestId}: {LightId} → {Mode} until {ExpiresAt}")]
    private static partial void LogSubmitted(ILogger logger, string requestId, string lightId, string mode, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Light command {RequestId}: {LightId} {Mode} {Outcome}")]
    private static partial void LogOutcome(ILogger logger, string requestId, string lightId, string mode, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Light outcome {RequestId}/{LightId} not published yet: {Error}")]
    private static partial void LogOutcomeNotPublished(ILogger logger, string requestId, string lightId, string error);

    private sealed class LightTask(string requestId, uint lightId, DeviceEntry light, byte mode, string modeName, ushort holdSeconds, DateTimeOffset expiresAt)
    {
        public string RequestId { get; } = requestId;

        public uint LightId { get; } = lightId;

        /// <summary>The light as the registry holds it: its key, and the frame version its commands are sealed in.</summary>
        public DeviceEntry Light { get; } = light;

        /// <summary>The mode the light's beacon must show: <see cref="LightMode.Schedule"/> for a release.</summary>
        public byte Mode { get; } = mode;

        public string ModeName { get; } = modeName;

        public ushort HoldSeconds { get; } = holdSeconds;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public bool Confirmed { get; set; }

        public DateTimeOffset NextRefreshAt { get; set; }

        /// <summary>When an unconfirmed frame is signed again, from the light's next command block.</summary>
        public DateTimeOffset ResignAt { get; set; }

        /// <summary>The next refresh starts the light's next command block (it fell back, perhaps after a power cut).</summary>
        public bool NextBlock { get; set; }

        /// <summary>A mode held for a limited time must be repeated while it is wanted; a release or an open-ended emergency need not.</summary>
        public bool Refreshes => Mode != LightMode.Schedule && HoldSeconds > 0;

        public TimeSpan RefreshPeriod => TimeSpan.FromSeconds(Math.Clamp(HoldSeconds / 3.0, MinRefresh.TotalSeconds, MaxRefresh.TotalSeconds));
    }
}
