using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Hosting;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Firmware;

/// <summary>What an upload came to: the stored release, or why it was refused.</summary>
public sealed record ReleaseUpload(StoredRelease? Release, bool Added, string? Reason, string Problem);

/// <summary>
/// Uploads of signed releases (central staff): verified like a device verifies them, against <c>Firmware:ReleaseKeys</c>,
/// every chunk and the image; anything else is refused, counted by reason
/// (<c>anshimi_cloud_bridge_firmware_refused_total{reason}</c>) and audited.
/// </summary>
public sealed partial class FirmwareReleases
{
    public const string UploadedAction = "firmware-release-uploaded";
    public const string RefusedAction = "firmware-release-refused";

    /// <summary>A release whose manifest is larger cannot be offered in one 16 KiB envelope beside its devices.</summary>
    public const string TooLarge = "too_large";
    public const int MaxManifestBytes = 8192;

    /// <summary>A gateway asked for the image of a release never offered to it.</summary>
    public const string NotOffered = "not_offered";

    private readonly ConcurrentDictionary<string, long> _refused = new(StringComparer.Ordinal);
    private readonly FirmwareStore _store;
    private readonly AuditLog _audit;
    private readonly ReleaseVerifier _verifier;
    private readonly TimeProvider _time;
    private readonly ILogger<FirmwareReleases> _logger;

    public FirmwareReleases(
        FirmwareStore store, AuditLog audit, IOptions<FirmwareOptions> options, TimeProvider time, IMeterFactory meterFactory, ILogger<FirmwareReleases> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterFactory);
        _store = store;
        _audit = audit;
        _time = time;
        _logger = logger;
        _verifier = new ReleaseVerifier(options.Value.PublicKeys());
        meterFactory.Create(CloudBridgeTelemetry.MeterName).CreateObservableCounter(
            "anshimi.cloud_bridge.firmware.refused", Observe, "{request}",
            "Release uploads and image fetches the cloud refused, by reason (bad_signature, unknown_key, bad_chunk, not_offered, …).");
    }

    public IReadOnlyDictionary<string, long> Refused => new Dictionary<string, long>(_refused, StringComparer.Ordinal);

    public async Task<ReleaseUpload> UploadAsync(byte[] file, string actor, CancellationToken cancellationToken)
    {
        ReleaseVerification check = _verifier.Verify(file);
        if (check.IsValid && check.File!.ManifestBytes.Length > MaxManifestBytes)
        {
            check = ReleaseVerification.Refused(TooLarge, "the manifest is " + check.File.ManifestBytes.Length + " bytes; at most " + MaxManifestBytes +
                " fit an offer (use a larger chunk size)");
        }

        if (!check.IsValid)
        {
            Count(check.Reason!);
            LogRefused(_logger, actor, check.Reason!, check.Problem);
            await _audit.AppendAsync(new AuditEntry(actor, RefusedAction, "release", "", check.Reason!, check.Problem), cancellationToken);
            return new ReleaseUpload(null, false, check.Reason, check.Problem);
        }

        var release = new StoredRelease(check.ReleaseId!, check.Manifest!, check.File!.ManifestBytes, check.File.Signature, actor, _time.GetUtcNow());
        bool added = await _store.AddReleaseAsync(release, check.File.Image, cancellationToken);
        ReleaseManifest m = release.Manifest;
        await _audit.AppendAsync(new AuditEntry(actor, UploadedAction, release.ReleaseId, "", AuditOutcome.Done,
            "version " + m.Version + " for " + string.Join(",", m.Kinds) + " on " + string.Join(",", m.Boards) + (added ? "" : " (already kept)")),
            cancellationToken);
        return new ReleaseUpload(added ? release : await _store.FindReleaseAsync(release.ReleaseId, cancellationToken), added, null, "");
    }

    public void Count(string reason) => _refused.AddOrUpdate(reason, 1, (_, n) => n + 1);

    private IEnumerable<Measurement<long>> Observe() =>
        _refused.Select(pair => new Measurement<long>(pair.Value, new KeyValuePair<string, object?>("reason", pair.Key)));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Release upload by {Actor} refused ({Reason}): {Problem}")]
    private static partial void LogRefused(ILogger logger, string actor, string reason, string problem);
}
