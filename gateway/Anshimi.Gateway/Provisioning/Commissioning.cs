using System.Security.Cryptography;
using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream.Provisioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Provisioning;

/// <summary>An installer request the gateway refused: a stable code for clients and a message.</summary>
public sealed class CommissioningException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;
}

/// <summary>
/// The installer's journey on the gateway: claim a heard device with its label's code (issuing its
/// frame key and broker account, sealed to its factory key), bind it to a site, walk-test it,
/// replace or decommission it, and bulk-edit sites from CSV. Keys, passwords and claim codes never
/// reach a log or an answer.
/// </summary>
public sealed partial class Commissioning(
    HelloBoard board,
    DeviceLifecycle lifecycle,
    DeviceRegistry registry,
    DynamicSecurity dynamicSecurity,
    MqttSession mqtt,
    SiteRules siteRules,
    ProvisioningMetrics metrics,
    IOptions<ProvisioningOptions> options,
    TimeProvider time,
    ILogger<Commissioning> logger)
{
    private const int PasswordBytes = 24;

    private readonly SemaphoreSlim _changes = new(1, 1);

    /// <summary>
    /// Claims a device: reads its label (the scanned QR content, or the typed code and factory key), picks the
    /// hello whose tag the code verifies and whose key is the label's, creates its broker account, stores its new
    /// key, and publishes the credentials sealed to the label's key.
    /// </summary>
    public async Task<DeviceRow> ClaimAsync(uint deviceId, string label, string? typedKey, CancellationToken cancellationToken)
    {
        string id = DeviceIdText.Format(deviceId);
        (string normalized, byte[] labelKey) = ReadLabel(id, label, typedKey);
        IReadOnlyList<HelloSighting> candidates = board.Candidates(deviceId);
        if (candidates.Count == 0)
        {
            throw new CommissioningException(404, "not_heard", "device " + id + " has not said hello recently; power it on near the gateway and run discover");
        }

        // The code proves the installer holds this device's label, but a photo of the label proves the same: a hello
        // is answered only when it also carries the label's key, and the answer is sealed to that key.
        byte[] secret = ClaimCode.Secret(normalized);
        List<HelloSighting> tagged = [.. candidates.Where(c => CredentialSealer.HelloMatches(c.Raw, c.Hello, secret))];
        if (tagged.Count == 0)
        {
            metrics.Claim("wrong_code");
            LogClaimRefused(logger, id);
            throw new CommissioningException(403, "wrong_claim_code", "the claim code does not match device " + id);
        }

        HelloSighting? sighting = tagged.FirstOrDefault(c => c.Hello.PublicKey.AsSpan().SequenceEqual(labelKey));
        if (sighting is null)
        {
            metrics.Claim("key_mismatch");
            LogKeyMismatch(logger, id);
            throw new CommissioningException(409, "key_mismatch", "device " + id + " said hello with a key other than its label's; nothing was issued");
        }

        await _changes.WaitAsync(cancellationToken);
        try
        {
            DeviceRow? existing = await FindAsync(deviceId, cancellationToken);
            if (existing is not null && existing.State != DeviceState.Claimed)
            {
                throw new CommissioningException(409, "not_claimable", "device " + id + " is " + existing.State + "; only a new or claimed device can be claimed");
            }

            byte[] key = RandomNumberGenerator.GetBytes(DeviceCredentials.KeyLength);
            string password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(PasswordBytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            byte[] sealedCredentials = SealOrRefuse(sighting.Hello, labelKey, new DeviceCredentials(key, id, password), id);
            await WithBrokerAsync(token => dynamicSecurity.CreateDeviceAccountAsync(deviceId, password, token), cancellationToken);
            if (await lifecycle.ClaimAsync(deviceId, key, sighting.Hello.Profile, sighting.Hello.FirmwareVersion, time.GetUtcNow(), cancellationToken) != RegistryChange.Done)
            {
                await dynamicSecurity.DeleteDeviceAccountAsync(deviceId, cancellationToken);
                throw new CommissioningException(409, "not_claimable", "device " + id + " changed state meanwhile");
            }

            await mqtt.PublishAsync(Topics.ProvisioningCredentials(deviceId), sealedCredentials, MqttQos.AtLeastOnce, retain: false, cancellationToken);
            board.Forget(deviceId);
            metrics.Claim("claimed");
            LogClaimed(logger, id, sighting.Hello.Profile, sighting.Hello.FirmwareVersion);
            return (await FindAsync(deviceId, cancellationToken))!;
        }
        finally
        {
            _changes.Release();
        }
    }

    public async Task<DeviceRow> BindSiteAsync(uint deviceId, string? kind, string? address, string? latitude, string? longitude, string? reference, CancellationToken cancellationToken)
    {
        var problems = new List<FieldProblem>();
        SiteBinding site = siteRules.Check(kind, address, latitude, longitude, reference, null, problems)
            ?? throw new SiteException(problems);
        RegistryChange change = await lifecycle.BindSiteAsync(deviceId, site, cancellationToken);
        Expect(change, deviceId);
        LogBound(logger, DeviceIdText.Format(deviceId), site.Kind, site.DistrictCode);
        return (await FindAsync(deviceId, cancellationToken))! with { Neighbourhood = siteRules.NeighbourhoodAt(site.Latitude, site.Longitude) };
    }

    /// <summary>Starts a walk test: alarms from the device are stored and forwarded marked test until it ends.</summary>
    public DateTimeOffset StartWalkTest(uint deviceId, DeviceRow row)
    {
        if (row.Site.Kind == DeviceState.UnboundSite)
        {
            throw new CommissioningException(409, "not_bound", "bind device " + row.DeviceId + " to a site before the walk test");
        }

        if (!registry.TryGet(deviceId, out DeviceEntry entry))
        {
            throw new CommissioningException(409, "not_live", "device " + row.DeviceId + " is " + row.State);
        }

        DateTimeOffset until = time.GetUtcNow() + options.Value.WalkTestWindow;
        entry.WalkTestUntil = until;
        LogWalkTest(logger, row.DeviceId, true);
        return until;
    }

    public void EndWalkTest(uint deviceId)
    {
        if (registry.TryGet(deviceId, out DeviceEntry entry))
        {
            entry.WalkTestUntil = null;
            LogWalkTest(logger, DeviceIdText.Format(deviceId), false);
        }
    }

    public async Task<DeviceRow> ReplaceAsync(uint oldId, uint newId, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken);
        try
        {
            DeviceRow? old = await FindAsync(oldId, cancellationToken);
            DeviceRow? fresh = await FindAsync(newId, cancellationToken);
            if (old is null || fresh is null)
            {
                throw new CommissioningException(404, "not_found", "device " + DeviceIdText.Format(old is null ? oldId : newId) + " is not in the registry");
            }

            if (old.State is not (DeviceState.Claimed or DeviceState.Active) || fresh.State != DeviceState.Claimed || fresh.Site.Kind != DeviceState.UnboundSite || oldId == newId)
            {
                throw new CommissioningException(409, "not_replaceable", "the old device must be in service and the new one claimed and not yet bound (old " + old.State + ", new " + fresh.State + ")");
            }

            // Revoke at the broker first: if the registry change then failed, the old device is
            // locked out (fail closed) and a retry finishes the job.
            await WithBrokerAsync(token => dynamicSecurity.DeleteDeviceAccountAsync(oldId, token), cancellationToken);
            (RegistryChange change, string reason) = await lifecycle.ReplaceAsync(oldId, newId, cancellationToken);
            if (change != RegistryChange.Done)
            {
                throw new CommissioningException(409, "not_replaceable", reason);
            }

            LogReplaced(logger, old.DeviceId, fresh.DeviceId);
            return (await FindAsync(newId, cancellationToken))!;
        }
        finally
        {
            _changes.Release();
        }
    }

    public async Task<DeviceRow> DecommissionAsync(uint deviceId, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken);
        try
        {
            DeviceRow row = await FindAsync(deviceId, cancellationToken)
                ?? throw new CommissioningException(404, "not_found", "device " + DeviceIdText.Format(deviceId) + " is not in the registry");
            if (row.State is not (DeviceState.Claimed or DeviceState.Active))
            {
                throw new CommissioningException(409, "not_live", "device " + row.DeviceId + " is already " + row.State);
            }

            await WithBrokerAsync(token => dynamicSecurity.DeleteDeviceAccountAsync(deviceId, token), cancellationToken);
            Expect(await lifecycle.DecommissionAsync(deviceId, cancellationToken), deviceId);
            LogDecommissioned(logger, row.DeviceId);
            return (await FindAsync(deviceId, cancellationToken))!;
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>
    /// Imports site rows: every row is checked first and any problem (naming row and column) leaves
    /// the registry untouched; otherwise all rows are written in one transaction.
    /// </summary>
    public async Task<int> ImportAsync(string csv, CancellationToken cancellationToken)
    {
        var problems = new List<CsvProblem>();
        IReadOnlyList<CsvRow> rows = RegistryCsv.Parse(csv, problems);
        if (problems.Count > 0)
        {
            throw new CsvImportException(problems);
        }

        Dictionary<string, DeviceRow> known = (await lifecycle.ListAsync(cancellationToken)).ToDictionary(r => r.DeviceId, StringComparer.Ordinal);
        var seen = new HashSet<uint>();
        var changes = new List<(uint, SiteBinding)>();
        foreach (CsvRow row in rows)
        {
            string idText = row.Fields["device_id"].Trim();
            if (!DeviceIdText.TryParse(idText, out uint deviceId))
            {
                problems.Add(new CsvProblem(row.Row, "device_id", "bad_device_id", "must be 8 hex digits"));
                continue;
            }

            if (!known.TryGetValue(DeviceIdText.Format(deviceId), out DeviceRow? device) || device.State is not (DeviceState.Claimed or DeviceState.Active))
            {
                problems.Add(new CsvProblem(row.Row, "device_id", "not_live", "device " + DeviceIdText.Format(deviceId) + " is not claimed or active in this gateway's registry"));
                continue;
            }

            if (!seen.Add(deviceId))
            {
                problems.Add(new CsvProblem(row.Row, "device_id", "duplicate_row", "device " + DeviceIdText.Format(deviceId) + " appears in more than one row"));
                continue;
            }

            var fieldProblems = new List<FieldProblem>();
            SiteBinding? site = siteRules.Check(
                row.Fields["site_kind"], row.Fields["address"], row.Fields["latitude"], row.Fields["longitude"], row.Fields["site_ref"],
                row.Fields.GetValueOrDefault("district_code"), fieldProblems);
            problems.AddRange(fieldProblems.Select(p => new CsvProblem(row.Row, p.Field, p.Code, p.Message)));
            if (site is not null)
            {
                changes.Add((deviceId, site));
            }
        }

        if (problems.Count > 0)
        {
            throw new CsvImportException(problems);
        }

        int failed = await lifecycle.ImportSitesAsync(changes, cancellationToken);
        if (failed >= 0)
        {
            throw new CsvImportException([new CsvProblem(rows[failed].Row, "device_id", "not_live", "the device changed state during the import; nothing was imported")]);
        }

        LogImported(logger, changes.Count);
        return changes.Count;
    }

    public async Task<DeviceRow?> FindAsync(uint deviceId, CancellationToken cancellationToken)
    {
        string id = DeviceIdText.Format(deviceId);
        DeviceRow? row = (await lifecycle.ListAsync(cancellationToken)).FirstOrDefault(r => r.DeviceId == id);

        // Heartbeats reach the table in batches; the in-memory entry has the newest last-seen.
        return row is not null && registry.TryGet(deviceId, out DeviceEntry entry) && entry.LastSeen > row.LastSeen
            ? row with { LastSeen = entry.LastSeen }
            : row;
    }

    /// <summary>The claim code and factory key from a scanned label, or from a typed code and key.</summary>
    private static (string Code, byte[] Key) ReadLabel(string id, string label, string? typedKey)
    {
        if (label.TrimStart().StartsWith("ANSHIMI:", StringComparison.Ordinal))
        {
            if (!ClaimCode.TryReadLabel(label, out string labelId, out string code, out byte[] key, out string problem))
            {
                throw new CommissioningException(400, "bad_label", "label " + problem);
            }

            return labelId == id ? (code, key) : throw new CommissioningException(400, "bad_label", "the label is device " + labelId + "'s, not " + id + "'s");
        }

        string normalized = ClaimCode.Normalize(label, out string codeProblem)
            ?? throw new CommissioningException(400, "bad_claim_code", "claim code " + codeProblem);
        byte[] typed = ClaimCode.PublicKey(typedKey, out string keyProblem)
            ?? throw new CommissioningException(400, "bad_key", "the label's key (scan the QR code, or type the key printed under it) " + keyProblem);
        return (normalized, typed);
    }

    /// <summary>Seals before anything is issued, so a key nothing can be sealed to leaves no account or registry row.</summary>
    private byte[] SealOrRefuse(HelloMessage hello, byte[] labelKey, DeviceCredentials credentials, string id)
    {
        try
        {
            return CredentialSealer.Seal(hello, labelKey, credentials);
        }
        catch (UnsafeDeviceKeyException ex)
        {
            metrics.Claim("unsafe_key");
            LogUnsafeKey(logger, id);
            throw new CommissioningException(422, "unsafe_key", "device " + id + " has a factory key credentials cannot be sealed to (" + ex.Message + "); nothing was issued, return it to the depot");
        }
    }

    private static void Expect(RegistryChange change, uint deviceId)
    {
        if (change == RegistryChange.NotFound)
        {
            throw new CommissioningException(404, "not_found", "device " + DeviceIdText.Format(deviceId) + " is not in the registry");
        }

        if (change == RegistryChange.Conflict)
        {
            throw new CommissioningException(409, "not_live", "device " + DeviceIdText.Format(deviceId) + " is replaced or decommissioned");
        }
    }

    private static async Task WithBrokerAsync(Func<CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        try
        {
            await action(cancellationToken);
        }
        catch (DynamicSecurityException ex)
        {
            throw new CommissioningException(502, "broker_refused", "the broker's dynamic security did not accept the change: " + ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claim of device {DeviceId} refused: wrong claim code")]
    private static partial void LogClaimRefused(ILogger logger, string deviceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claim of device {DeviceId} refused: its factory key is a low-order point")]
    private static partial void LogUnsafeKey(ILogger logger, string deviceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claim of device {DeviceId} refused: its hello carries a key other than its label's")]
    private static partial void LogKeyMismatch(ILogger logger, string deviceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} claimed ({Profile}, firmware {Firmware}); sealed credentials sent")]
    private static partial void LogClaimed(ILogger logger, string deviceId, string profile, string firmware);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} bound to a {Kind} site in district {District}")]
    private static partial void LogBound(ILogger logger, string deviceId, string kind, string district);

    [LoggerMessage(Level = LogLevel.Information, Message = "Walk test of device {DeviceId}: running {Running}")]
    private static partial void LogWalkTest(ILogger logger, string deviceId, bool running);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {OldId} replaced by {NewId}: site moved, old key and broker account revoked")]
    private static partial void LogReplaced(ILogger logger, string oldId, string newId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} decommissioned: key and broker account revoked")]
    private static partial void LogDecommissioned(ILogger logger, string deviceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registry CSV import: {Count} sites written")]
    private static partial void LogImported(ILogger logger, int count);
}

/// <summary>A site binding with bad fields.</summary>
public sealed class SiteException(IReadOnlyList<FieldProblem> problems) : Exception("invalid site: " + string.Join("; ", problems.Select(p => p.Field + " " + p.Message)))
{
    public IReadOnlyList<FieldProblem> Problems { get; } = problems;
}

/// <summary>A CSV import refused as a whole, with every problem found.</summary>
public sealed class CsvImportException(IReadOnlyList<CsvProblem> problems) : Exception("CSV import refused: " + problems.Count + " problems")
{
    public IReadOnlyList<CsvProblem> Problems { get; } = problems;
}
