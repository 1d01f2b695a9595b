namespace Anshimi.CloudBridge.Retention;

/// <summary>
/// How long personal data is kept (DESIGN §1 privacy rule: destroyed automatically when its period ends); bound
/// from configuration section "Retention". Every table that holds personal data has its own period; the audit log
/// has the longest, so every provision of data stays provable after the data is gone.
/// </summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>Resolved alarms with their timelines (address, coordinates), counted from resolution.</summary>
    public TimeSpan ClosedAlarms { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Alarms never resolved (open, acknowledged, dispatched), counted from arrival: nobody closed them, they still expire.</summary>
    public TimeSpan UnresolvedAlarms { get; set; } = TimeSpan.FromDays(180);

    /// <summary>Walk-test alarms (an installer at a resident's door), counted from arrival.</summary>
    public TimeSpan TestAlarms { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Doorbell snapshots, counted from arrival (<c>snapshots.received_at</c>).</summary>
    public TimeSpan Snapshots { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Escort location traces (the escort store's <c>location_traces.recorded_at</c>).</summary>
    public TimeSpan LocationTraces { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Ended escort sessions (origin and destination: the walker's home), counted from their end.</summary>
    public TimeSpan EscortSessions { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Released emergency reports (a caller's location), counted from release.</summary>
    public TimeSpan Emergencies { get; set; } = TimeSpan.FromDays(90);

    /// <summary>The audit log itself: at least as long as every other period.</summary>
    public TimeSpan AuditLog { get; set; } = TimeSpan.FromDays(1825);

    /// <summary>How often the purge runs.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Every data period by the name the purge and its report use (the audit log's own period aside).</summary>
    public IReadOnlyList<(string Name, TimeSpan Period)> Periods() =>
    [
        (RetentionTables.ClosedAlarms, ClosedAlarms),
        (RetentionTables.UnresolvedAlarms, UnresolvedAlarms),
        (RetentionTables.TestAlarms, TestAlarms),
        (RetentionTables.Snapshots, Snapshots),
        (RetentionTables.LocationTraces, LocationTraces),
        (RetentionTables.EscortSessions, EscortSessions),
        (RetentionTables.Emergencies, Emergencies),
    ];
}

/// <summary>What each purge is called in the audit log and the retention report (stable: they are audited).</summary>
public static class RetentionTables
{
    public const string ClosedAlarms = "alarms-resolved";
    public const string UnresolvedAlarms = "alarms-unresolved";
    public const string TestAlarms = "alarms-test";
    public const string Snapshots = "snapshots";
    public const string LocationTraces = "location_traces";
    public const string EscortSessions = "escort_sessions";
    public const string Emergencies = "emergencies";
    public const string AuditLog = "audit";
}
