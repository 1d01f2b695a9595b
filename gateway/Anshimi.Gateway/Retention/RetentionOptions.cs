namespace Anshimi.Gateway.Retention;

/// <summary>How long the gateway keeps its own records, bound from configuration section "Retention".</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>
    /// The local siren looks back 12 hours for unacknowledged alarms and an installer's walk test is
    /// read back within minutes: shorter periods would take records those still need.
    /// </summary>
    public static readonly TimeSpan Shortest = TimeSpan.FromDays(1);

    /// <summary>Alarms the cloud has are deleted this long after they arrived (never one still waiting for the cloud).</summary>
    public TimeSpan Alarms { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Device troubles the cloud has are deleted this long after they were detected.</summary>
    public TimeSpan Troubles { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How often the purge runs.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromHours(1);
}
