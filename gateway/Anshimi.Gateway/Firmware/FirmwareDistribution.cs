using System.Security.Cryptography;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Firmware;

/// <summary>
/// The gateway's part of a firmware update (protocol/README.md §11.6): a <c>firmware-offer</c> from the cloud is offered
/// to each listed device on its <c>…/ota/down</c>; the image is fetched from the cloud once, chunk by chunk, kept checked
/// in the data directory and served to every device that asks; each device's state report goes upstream as
/// <c>firmware-state</c>; a verified device is told to activate (a streetlight only once it is offered the release: it
/// may have downloaded it from the carousel of its neighbours' stage). Offers and activations a device has not answered are
/// sent again every <c>Gateway:FirmwareResend</c> until the offer expires. Releases, offers and each device's latest state
/// are kept in <see cref="FirmwareUpdateStore"/>: a restarted gateway resumes the offers in progress.
/// </summary>
public sealed partial class FirmwareDistribution(
    MqttSession box,
    [FromKeyedServices(CloudLink.SessionKey)] MqttSession cloud,
    DeviceRegistry registry,
    DeviceStatusReporter statuses,
    FirmwareUpdateStore store,
    LightCarousel lights,
    IOptions<GatewayOptions> gateway,
    GatewayMetrics metrics,
    RejectLog rejectLog,
    TimeProvider time,
    ILogger<FirmwareDistribution> logger) : BackgroundService
{
    public const string BadFirmwareOffer = "bad_firmware_offer";
    public const string BadUpdateMessage = "bad_update_message";

    /// <summary>How long a chunk asked of the cloud may stay unanswered before it is asked again.</summary>
    public static readonly TimeSpan FetchRetry = TimeSpan.FromSeconds(30);

    private const int MaxFetching = 8;
    private static readonly string DeviceUpdatesFilter = Topics.Root + "/d/+/ota/up";

    // Battery bells speak only BLE and sleep: updated at an installer visit (§11.8). Streetlights take the carousel (§11.9).
    private static readonly HashSet<string> InstallerOnly = new(StringComparer.Ordinal) { "battery" };

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Release> _releases = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, DeviceUpdate> _devices = [];

    // Reports of devices whose binding the cloud has not yet receipted: it would refuse them, so they wait.
    private readonly Dictionary<uint, FirmwareStateEnvelope> _unbound = [];

    /// <summary>Chunks fetched from the cloud, over all releases (for the benchmark and the tests).</summary>
    public int ChunksFetched { get; private set; }

    /// <summary>Chunks sent to devices.</summary>
    public long ChunksServed { get; private set; }

    private TimeSpan Resend => gateway.Value.FirmwareResend;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await ResumeAsync(cancellationToken);
        box.AddSubscription(DeviceUpdatesFilter, MqttQos.AtLeastOnce, OnDeviceMessageAsync);
        lights.Relay = OnLightReportAsync;
        lights.ReadChunk = ReadChunk;
        await base.StartAsync(cancellationToken);
    }

    /// <summary>The devices' firmware states the gateway last reported, for the installer.</summary>
    public Task<IReadOnlyList<DeviceFirmwareState>> StatesAsync(CancellationToken cancellationToken) => store.StatesAsync(cancellationToken);

    // Offers in progress before a restart: sent again (or their activation) at the first tick; downloads go on as the
    // devices ask for their next chunks.
    private async Task ResumeAsync(CancellationToken cancellationToken)
    {
        (IReadOnlyList<StoredFirmwareRelease> releases, IReadOnlyList<StoredFirmwareOffer> offers) = await store.LoadOpenAsync(cancellationToken);
        foreach (StoredFirmwareRelease stored in releases)
        {
            if (ReleaseManifest.Read(stored.Manifest) is { } manifest)
            {
                _releases[stored.ReleaseId] = new Release(stored.ReleaseId, stored.Manifest, stored.Signature, manifest, ChunkDirectory(stored.ReleaseId))
                {
                    ExpiresAt = stored.ExpiresAt,
                };
            }
        }

        foreach (StoredFirmwareOffer offer in offers.Where(o => _releases.ContainsKey(o.ReleaseId)))
        {
            _devices[offer.DeviceId] = new DeviceUpdate(offer.DeviceId, offer.RolloutId, _releases[offer.ReleaseId])
            {
                State = offer.State,
                TrialSince = offer.TrialSince,
                LastSentAt = DateTimeOffset.MinValue,
            };
        }

        if (offers.Count > 0)
        {
            LogResumed(logger, offers.Count, releases.Count);
        }
    }

    public async Task OfferAsync(FirmwareOfferEnvelope offer, CancellationToken cancellationToken)
    {
        ReleaseManifest? manifest = ReleaseManifest.Read(offer.Manifest);
        byte[]? signature = TryHex(offer.SignatureHex);
        if (manifest is null || signature is not { Length: 64 } ||
            ReleaseManifest.Hex(ReleaseManifest.ReleaseIdOf(offer.Manifest, new Protocol.Security.Sha256())) != offer.ReleaseId)
        {
            Reject(BadFirmwareOffer, "firmware-offer " + offer.ReleaseId + " does not carry its manifest");
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_releases.TryGetValue(offer.ReleaseId, out Release? release))
            {
                release = new Release(offer.ReleaseId, offer.Manifest, signature, manifest, ChunkDirectory(offer.ReleaseId));
                _releases[offer.ReleaseId] = release;
            }

            release.ExpiresAt = offer.ExpiresAt;
            await store.SaveReleaseAsync(new StoredFirmwareRelease(release.Id, release.ManifestBytes, release.Signature, release.ExpiresAt), cancellationToken);
            foreach (string text in offer.Devices)
            {
                if (!DeviceIdText.TryParse(text, out uint deviceId))
                {
                    continue;
                }

                if (_devices.TryGetValue(deviceId, out DeviceUpdate? known) && known.Release == release && known.State != UpdateState.Idle)
                {
                    // The same offer again changes nothing for a device already past offered.
                    continue;
                }

                var update = new DeviceUpdate(deviceId, offer.RolloutId, release);
                _devices[deviceId] = update;
                if (!registry.TryGet(deviceId, out DeviceEntry? device) || InstallerOnly.Contains(device.Profile))
                {
                    update.State = UpdateState.Refused;
                    await SaveAsync(update, cancellationToken);
                    await SendStateAsync(update, UpdateReason.Unreachable, null, cancellationToken);
                    continue;
                }

                await SaveAsync(update, cancellationToken);
                await SendOfferAsync(update, cancellationToken);

                // A light may have downloaded the release from the carousel of an earlier stage: verified, it switches now.
                if (lights.VerifiedFor(deviceId, release.IdBytes) is { } verified)
                {
                    await OnStateReportAsync(deviceId, update, verified, cancellationToken);
                }
            }

            // Lights ask for nothing: their carousel needs the whole image, fetched now.
            if (offer.Devices.Any(text => DeviceIdText.TryParse(text, out uint id) && lights.Carries(id)))
            {
                await FetchMissingAsync(release, cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task PartAsync(FirmwarePartEnvelope part, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_releases.TryGetValue(part.ReleaseId, out Release? release) ||
                !release.Manifest.IsChunk(part.Index, part.Data, 0, part.Data.Length, new Protocol.Security.Sha256()))
            {
                Reject(BadFirmwareOffer, "firmware-part " + part.ReleaseId + "/" + part.Index + " is not a chunk of an offered release");
                return;
            }

            release.Fetching.Remove(part.Index);
            if (!release.Has(part.Index))
            {
                Directory.CreateDirectory(release.Directory);
                string path = release.ChunkPath(part.Index);
                await File.WriteAllBytesAsync(path + ".tmp", part.Data, cancellationToken);
                File.Move(path + ".tmp", path, overwrite: true);
                ChunksFetched++;
            }

            // Answer the devices waiting for it, then ask for what is still missing.
            foreach (DeviceUpdate update in _devices.Values.Where(u => u.Release == release && u.Waiting is not null).ToList())
            {
                await ServeAsync(update, update.Waiting!.Value.First, update.Waiting.Value.Count, cancellationToken);
            }

            await FetchMissingAsync(release, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task CancelAsync(FirmwareCancelEnvelope cancel, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            foreach (DeviceUpdate update in _devices.Values.Where(u => u.RolloutId == cancel.RolloutId && u.Release.Id == cancel.ReleaseId).ToList())
            {
                if (update.State is UpdateState.Offered or UpdateState.Downloading or UpdateState.Verified or UpdateState.Refused && !update.Final)
                {
                    await PublishDownAsync(update.DeviceId, UpdateMessage.EncodeRelease(UpdateMessage.Cancel, update.Release.IdBytes), cancellationToken);
                }

                update.Cancelled = true;
                await SaveAsync(update, cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RetryAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the offers are kept and resumed at the next start.
        }
    }

    private async Task RetryAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            DateTimeOffset now = time.GetUtcNow();
            foreach (DeviceUpdate update in _devices.Values.Where(u => !u.Final && !u.Cancelled).ToList())
            {
                if (now >= update.Release.ExpiresAt && update.State is not (UpdateState.Verified or UpdateState.Activating or UpdateState.Trial))
                {
                    update.State = UpdateState.Failed;
                    update.Final = true;
                    await SaveAsync(update, cancellationToken);
                    await SendStateAsync(update, UpdateReason.Expired, null, cancellationToken);
                }
                else if (now - update.LastSentAt >= Resend && update.State is UpdateState.Idle or UpdateState.Offered or UpdateState.Refused)
                {
                    await SendOfferAsync(update, cancellationToken);
                }
                else if (now - update.LastSentAt >= Resend && update.State == UpdateState.Verified)
                {
                    await ActivateAsync(update, cancellationToken);
                }
                else if (update.State == UpdateState.Trial)
                {
                    await AcceptTrialAsync(update, cancellationToken);
                }
            }

            foreach ((uint deviceId, FirmwareStateEnvelope waiting) in _unbound.Where(u => statuses.IsBindingConfirmed(u.Key)).ToList())
            {
                _unbound.Remove(deviceId);
                await PublishUpAsync(waiting, cancellationToken);
            }

            foreach (Release release in _releases.Values)
            {
                foreach (int index in release.Fetching.Where(f => now - f.Value >= FetchRetry).Select(f => f.Key).ToList())
                {
                    release.Fetching.Remove(index);
                }

                await FetchMissingAsync(release, cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task OnDeviceMessageAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        UpdateMessage? update = UpdateMessage.Read(message.Payload);
        if (!Topics.TryGetDeviceId(message.Topic, out uint deviceId) || update is null)
        {
            Reject(BadUpdateMessage, "update message on " + message.Topic + " dropped");
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            _devices.TryGetValue(deviceId, out DeviceUpdate? known);
            if (update.Type == UpdateMessage.ChunkRequest)
            {
                if (known is not null && !known.Cancelled && known.Release.IdBytes.AsSpan().SequenceEqual(update.ReleaseId))
                {
                    await ServeAsync(known, update.Index, update.Count, cancellationToken);
                }

                return;
            }

            if (update.Type != UpdateMessage.StateReport)
            {
                Reject(BadUpdateMessage, "device " + DeviceIdText.Format(deviceId) + " sent update message type " + update.Type);
                return;
            }

            await OnStateReportAsync(deviceId, known, update, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task OnLightReportAsync(uint lightId, UpdateMessage report, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _devices.TryGetValue(lightId, out DeviceUpdate? known);
            await OnStateReportAsync(lightId, known, report, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private byte[]? ReadChunk(string releaseId, int index)
    {
        string path = Path.Combine(ChunkDirectory(releaseId), index.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            return File.Exists(path) ? File.ReadAllBytes(path) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private async Task OnStateReportAsync(uint deviceId, DeviceUpdate? known, UpdateMessage report, CancellationToken cancellationToken)
    {
        bool aboutOffer = known is not null && known.Release.IdBytes.AsSpan().SequenceEqual(report.ReleaseId);
        bool noRelease = report.ReleaseId.All(b => b == 0);
        if (known is not null && (aboutOffer || (noRelease && report.State is UpdateState.RolledBack or UpdateState.Failed && known.State >= UpdateState.Activating)))
        {
            known.State = report.State;
            known.Final = UpdateState.IsFinal(report.State, report.Reason);
            known.LastSentAt = time.GetUtcNow();
            await SendStateAsync(known, report.Reason, report, cancellationToken);
            if (report.State == UpdateState.Verified && !known.Cancelled)
            {
                await ActivateAsync(known, cancellationToken);
            }
            else if (report.State == UpdateState.Trial)
            {
                // A repeated trial report (the device did not hear the acceptance) keeps the trial's start: the frame
                // heard since then still counts, and the acceptance goes again at once.
                known.TrialSince ??= time.GetUtcNow();
                known.LastSentAt = DateTimeOffset.MinValue;
            }

            await SaveAsync(known, cancellationToken);
            return;
        }

        if (known is not null && noRelease && report.State == UpdateState.Idle && known.State is UpdateState.Offered or UpdateState.Downloading or UpdateState.Idle)
        {
            // The device reconnected without the offer (it was off when it came): offer again now.
            await SendOfferAsync(known, cancellationToken);
        }

        // Not about an offer of this gateway: still tells the cloud the device's version, floor and board.
        var standalone = new DeviceUpdate(deviceId, null, null);
        await SendStateAsync(standalone, report.Reason, report, cancellationToken, noRelease ? null : ReleaseManifest.Hex(report.ReleaseId));
    }

    private async Task ServeAsync(DeviceUpdate update, int first, int count, CancellationToken cancellationToken)
    {
        Release release = update.Release;
        update.Waiting = null;
        for (int index = first; index < first + count && index < release.Manifest.ChunkCount; index++)
        {
            if (!release.Has(index))
            {
                update.Waiting = (index, first + count - index);
                await FetchMissingAsync(release, cancellationToken);
                return;
            }

            byte[] chunk = await File.ReadAllBytesAsync(release.ChunkPath(index), cancellationToken);
            await PublishDownAsync(update.DeviceId, UpdateMessage.EncodeChunk(release.IdBytes, index, index * release.Manifest.ChunkSize, chunk, 0, chunk.Length), cancellationToken);
            ChunksServed++;
        }
    }

    private async Task FetchMissingAsync(Release release, CancellationToken cancellationToken)
    {
        if (!_devices.Values.Any(u => u.Release == release && !u.Final && !u.Cancelled))
        {
            return;
        }

        for (int index = 0; index < release.Manifest.ChunkCount && release.Fetching.Count < MaxFetching; index++)
        {
            if (release.Has(index) || release.Fetching.ContainsKey(index))
            {
                continue;
            }

            release.Fetching[index] = time.GetUtcNow();
            await PublishUpAsync(new FirmwareFetchEnvelope(release.Id, index), cancellationToken);
        }
    }

    // The new image is accepted once the pipeline has taken a valid (tag-checked, fresh) frame from it since its trial
    // report: its heartbeat was acknowledged.
    private async Task AcceptTrialAsync(DeviceUpdate update, CancellationToken cancellationToken)
    {
        DateTimeOffset now = time.GetUtcNow();
        if (update.TrialSince is not { } since || now - update.LastSentAt < Resend / 4 ||
            !registry.TryGet(update.DeviceId, out DeviceEntry? device) || device.LastSeen is not { } seen || seen <= since)
        {
            return;
        }

        update.LastSentAt = now;
        await PublishDownAsync(update.DeviceId, UpdateMessage.EncodeRelease(UpdateMessage.TrialAccepted, update.Release.IdBytes), cancellationToken);
    }

    private async Task SendOfferAsync(DeviceUpdate update, CancellationToken cancellationToken)
    {
        update.LastSentAt = time.GetUtcNow();
        await PublishDownAsync(update.DeviceId, UpdateMessage.EncodeOffer(update.Release.ManifestBytes, update.Release.Signature), cancellationToken);
    }

    private async Task ActivateAsync(DeviceUpdate update, CancellationToken cancellationToken)
    {
        update.LastSentAt = time.GetUtcNow();
        await PublishDownAsync(update.DeviceId, UpdateMessage.EncodeRelease(UpdateMessage.Activate, update.Release.IdBytes), cancellationToken);
    }

    private async Task SendStateAsync(DeviceUpdate update, byte reason, UpdateMessage? report, CancellationToken cancellationToken, string? releaseId = null)
    {
        var envelope = new FirmwareStateEnvelope(
            gateway.Value.Id,
            DeviceIdText.Format(update.DeviceId),
            releaseId ?? update.Release?.Id,
            update.RolloutId,
            UpdateState.NameOf(report?.State ?? update.State) ?? "idle",
            UpdateReason.NameOf(reason),
            report?.ChunksDone ?? 0,
            report?.ChunkCount ?? update.Release?.Manifest.ChunkCount ?? 0,
            report?.Running.ToString(),
            // A light's report piece has no room for its floor: unknown.
            report is null || report.Profile == Lights.LightFanout.LightProfile ? null : report.Floor.ToString(),
            report?.Board,
            time.GetUtcNow());
        await store.SaveStateAsync(envelope, cancellationToken);
        if (!statuses.IsBindingConfirmed(update.DeviceId))
        {
            _unbound[update.DeviceId] = envelope;
            return;
        }

        _unbound.Remove(update.DeviceId);
        await PublishUpAsync(envelope, cancellationToken);
    }

    private async Task PublishDownAsync(uint deviceId, byte[] payload, CancellationToken cancellationToken)
    {
        if (lights.Carries(deviceId))
        {
            lights.Send(deviceId, payload, _devices.TryGetValue(deviceId, out DeviceUpdate? update) ? update.Release.ExpiresAt : time.GetUtcNow());
            return;
        }

        try
        {
            await box.PublishAsync(Topics.DeviceUpdateDown(deviceId), payload, MqttQos.AtLeastOnce, retain: false, cancellationToken);
        }
        catch (MqttTransportException ex)
        {
            // The retry loop sends it again.
            LogPublishFailed(logger, "device " + DeviceIdText.Format(deviceId), ex.Message);
        }
    }

    private async Task PublishUpAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        try
        {
            await cloud.PublishAsync(Topics.GatewayEvents(gateway.Value.Id), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, cancellationToken);
        }
        catch (MqttTransportException ex)
        {
            LogPublishFailed(logger, "cloud", ex.Message);
        }
    }

    private Task SaveAsync(DeviceUpdate update, CancellationToken cancellationToken) => store.SaveOfferAsync(
        new StoredFirmwareOffer(update.DeviceId, update.RolloutId, update.Release.Id, update.State, update.Final, update.Cancelled, update.TrialSince), cancellationToken);

    private void Reject(string reason, string detail)
    {
        metrics.CommandRejected(reason);
        rejectLog.Report(reason, detail);
    }

    private string ChunkDirectory(string releaseId) => Path.Combine(gateway.Value.DataDirectory, "firmware", releaseId);

    private static byte[]? TryHex(string? hex)
    {
        try
        {
            return hex is null ? null : Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Firmware: resumed {Offers} device offers of {Releases} releases kept before the restart")]
    private static partial void LogResumed(ILogger logger, int offers, int releases);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Firmware update message to {Peer} not sent: {Error}")]
    private static partial void LogPublishFailed(ILogger logger, string peer, string error);

    private sealed class Release(string id, byte[] manifestBytes, byte[] signature, ReleaseManifest manifest, string directory)
    {
        public string Id { get; } = id;

        public byte[] IdBytes { get; } = Convert.FromHexString(id);

        public byte[] ManifestBytes { get; } = manifestBytes;

        public byte[] Signature { get; } = signature;

        public ReleaseManifest Manifest { get; } = manifest;

        public string Directory { get; } = directory;

        public DateTimeOffset ExpiresAt { get; set; }

        public Dictionary<int, DateTimeOffset> Fetching { get; } = [];

        public string ChunkPath(int index) => Path.Combine(Directory, index.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // A chunk on disk was checked against the manifest before it was written.
        public bool Has(int index) => File.Exists(ChunkPath(index));
    }

    private sealed class DeviceUpdate(uint deviceId, string? rolloutId, Release? release)
    {
        public uint DeviceId { get; } = deviceId;

        public string? RolloutId { get; } = rolloutId;

        public Release Release { get; } = release!;

        public byte State { get; set; } = UpdateState.Idle;

        public bool Final { get; set; }

        public bool Cancelled { get; set; }

        public DateTimeOffset LastSentAt { get; set; }

        public (int First, int Count)? Waiting { get; set; }

        public DateTimeOffset? TrialSince { get; set; }
    }
}
