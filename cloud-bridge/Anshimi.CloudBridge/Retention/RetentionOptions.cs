namespace Anshimi.CloudBridge.Retention;

/// <summary>
/// How long personal data is kept (DESIGN §1 privacy rule: destroyed automatically when its period ends); bound
/// from configuration section "Retention". The audit log has its own, longer period.
/// </summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>Resolved (closed) alarms with their timelines, counted from resolution. Open alarms are never purged.</summary>
    public TimeSpan ClosedAlarms { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Doorbell snapshots, counted from arrival (<c>snapshots.received_at</c>).</summary>
    public TimeSpan Snapshots { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Escort location traces (the escort store's <c>location_traces.recorded_at</c>).</summary>
    public TimeSpan LocationTraces { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The audit log itself: longer, so every provision of data stays provable after the data is gone.</summary>
    public TimeSpan AuditLog { get; set; } = TimeSpan.FromDays(1825);

    /// <summary>How often the purge runs.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>SQLite file holding the <c>location_traces</c> table, relative to the data directory.</summary>
    public string TracesDatabase { get; set; } = "escorts.db";
}
