namespace Anshimi.CloudBridge.Alarms;

/// <summary>Operator-visible life of an alarm: open → acknowledged → resolved (resolve may skip acknowledge).</summary>
public static class AlarmState
{
    public const string Open = "open";
    public const string Acknowledged = "acknowledged";
    public const string Resolved = "resolved";

    /// <summary>An installer's walk-test alarm (envelope <c>test: true</c>): recorded, closed from the start, never in the operators' queue.</summary>
    public const string Test = "test";
}

/// <summary>Timeline stage names; "-relayed" stages mean the gateway has handed the operator's answer to the device.</summary>
public static class TimelineStage
{
    /// <summary>The gateway's time of receiving the device frame (devices carry no clock).</summary>
    public const string Raised = "raised";

    /// <summary>Stored in the cloud.</summary>
    public const string Received = "received";

    public const string Acknowledged = "acknowledged";
    public const string Resolved = "resolved";

    public static string RelayedOf(string stage) => stage + "-relayed";
}

/// <summary>An alarm as stored.</summary>
public sealed record AlarmRecord(
    string Key,
    string DeviceId,
    uint Counter,
    string GatewayId,
    int EventCode,
    int Qualifier,
    int Zone,
    string Profile,
    string SiteKind,
    double Latitude,
    double Longitude,
    string Address,
    bool Test,
    string DistrictCode,
    string FrameHex,
    string State,
    DateTimeOffset RaisedAt,
    DateTimeOffset ReceivedAt,
    IReadOnlyList<TimelineEntry> Timeline);

public sealed record TimelineEntry(string Stage, DateTimeOffset At, string? Actor);

/// <summary>An operator acknowledgement waiting for its gateway's <c>ack-relayed</c>.</summary>
public sealed record PendingAck(string Key, string Stage, string GatewayId, string Operator, DateTimeOffset At, int Attempts);

public sealed record GatewayRecord(string GatewayId, DateTimeOffset LastSeenAt, int OutboxDepth);

public enum OperatorActionOutcome
{
    Applied,

    /// <summary>Acknowledging an alarm that is already acknowledged: nothing to do, not an error.</summary>
    Unchanged,
    NotFound,
    AlreadyResolved,
}

public sealed record OperatorActionResult(OperatorActionOutcome Outcome, AlarmRecord? Alarm);
