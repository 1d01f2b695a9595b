namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// Operator-visible life of an alarm: open → acknowledged (확인) → dispatched (출동 지령) → resolved (종결); a later
/// stage may skip earlier ones.
/// </summary>
public static class AlarmState
{
    public const string Open = "open";
    public const string Acknowledged = "acknowledged";
    public const string Dispatched = "dispatched";
    public const string Resolved = "resolved";

    /// <summary>An installer's walk-test alarm (envelope <c>test: true</c>): recorded, closed from the start, never in the operators' queue.</summary>
    public const string Test = "test";

    /// <summary>Position in the life of an alarm; an action never moves it backwards.</summary>
    public static int Rank(string state) => state switch
    {
        Open => 0,
        Acknowledged => 1,
        Dispatched => 2,
        Resolved => 3,
        _ => -1,
    };

    /// <summary>
    /// Someone is still asking for help: the only time the MOU lets an operator see where (address, coordinates, picture).
    /// A walk test is not a request for help.
    /// </summary>
    public static bool IsOpen(string state) => state is Open or Acknowledged or Dispatched;

    /// <summary>What the device hears: dispatching tells the bell "help is on the way", like an acknowledgement.</summary>
    public static string DeviceStageOf(string stage) => stage == Dispatched ? Acknowledged : stage;
}

/// <summary>Timeline stage names; "-relayed" stages mean the gateway has handed the operator's answer to the device.</summary>
public static class TimelineStage
{
    /// <summary>The gateway's time of receiving the device frame (devices carry no clock).</summary>
    public const string Raised = "raised";

    /// <summary>Stored in the cloud.</summary>
    public const string Received = "received";

    public const string Acknowledged = "acknowledged";
    public const string Dispatched = "dispatched";
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

    /// <summary>The alarm is already at or past that stage (e.g. acknowledging a dispatched alarm): nothing to do, not an error.</summary>
    Unchanged,
    NotFound,
    AlreadyResolved,
}

public sealed record OperatorActionResult(OperatorActionOutcome Outcome, AlarmRecord? Alarm);

/// <summary>
/// Which alarms a listing returns: only those in <see cref="Districts"/> (null: every district), and either the
/// live alarms or only walk-test alarms (<see cref="Test"/>), never both mixed.
/// </summary>
public sealed record AlarmFilter(IReadOnlyCollection<string>? Districts, bool Test)
{
    public static readonly AlarmFilter Everything = new(null, false) { IncludeBoth = true };

    internal bool IncludeBoth { get; init; }
}
