using System.ComponentModel.DataAnnotations;

namespace Anshimi.Gateway;

/// <summary>The gateway's own settings, bound from configuration section "Gateway".</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>The gateway id in upstream topics; falls back to the seed file's gatewayId when empty.</summary>
    public string Id { get; set; } = "";

    /// <summary>Where the SQLite registry and alarm store live.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>A fleet file to seed the device registry from at startup; optional.</summary>
    public string? RegistrySeedFile { get; set; }

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First delay before an unreceipted alarm is sent upstream again; later delays double.</summary>
    public TimeSpan OutboxRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Upper bound of the outbox resend delay.</summary>
    public TimeSpan OutboxRetryMaxInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often batched device heartbeats (last seen) are written to the registry.</summary>
    public TimeSpan ActivityFlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A store whose newest recorded activity is older than this at startup may have been restored from a backup: its
    /// downlink counters are raised to the current Unix second (<c>Storage/StoreResynchronisation</c>).
    /// </summary>
    public TimeSpan ResyncAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A re-key not yet answered goes out again on the device's next frame in its old epoch, at most this often
    /// (<c>Pipeline/DeviceRekey</c>, protocol/README.md §10).
    /// </summary>
    public TimeSpan RekeyRepeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Device uplinks waiting for the pipeline; more are dropped and counted (devices resend).</summary>
    public int UplinkQueueCapacity { get; set; } = 10_000;

    /// <summary>Uplinks one device may have waiting; more from it are dropped and counted (<c>device_budget</c>), so no device starves the others.</summary>
    public int UplinkDeviceBudget { get; set; } = 64;

    /// <summary>How long the box broker may take to accept one ack to a device before it is kept and retried.</summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Acks to devices kept while the box broker is away; a newer one beyond this is dropped and counted (the device's resend is acked again).</summary>
    public int MaxPendingAcks { get; set; } = 4096;

    /// <summary>How often changed device health is saved and reported upstream.</summary>
    public TimeSpan StatusReportInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often every device's status is reported again, repairing anything lost on the way.</summary>
    public TimeSpan StatusResyncInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often a firmware offer or activation a device has not answered is sent again (protocol/README.md §11.6).</summary>
    public TimeSpan FirmwareResend { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Unsent troubles kept while the cloud is unreachable (about 100 bytes each). At the bound the oldest trouble that a
    /// later one of the same device, condition and qualifier supersedes goes first, else the oldest; alarms are never dropped.
    /// </summary>
    public int MaxPendingTroubles { get; set; } = 10_000;

    /// <summary>Where the box itself is installed: its own troubles (its UPS) carry it, so the cloud routes them to the district. Optional.</summary>
    public GatewaySite? Site { get; set; }

    public string DatabasePath => Path.Combine(DataDirectory, "gateway.db");
}

/// <summary>The gateway box's own location, bound from "Gateway:Site".</summary>
public sealed class GatewaySite
{
    public double Latitude { get; set; }

    public double Longitude { get; set; }

    public string Address { get; set; } = "";
}
