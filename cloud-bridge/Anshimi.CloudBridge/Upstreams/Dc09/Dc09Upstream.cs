using Anshimi.AlarmReceivers.Dc09;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Cameras;

namespace Anshimi.CloudBridge.Upstreams.Dc09;

/// <summary>
/// An alarm-receiving centre reached in SIA DC-09 (ADM-CID): picks the account for the alarm's site, takes the
/// delivery's persisted sequence number and sends through one <see cref="Dc09Sender"/> per configured receiver
/// (timestamps with NAK clock correction, optional AES, NULL supervision while idle). Each attempt goes down the
/// list until one receiver ACKs, starting at the first, except that a receiver whose last attempt failed transiently
/// within <see cref="Dc09UpstreamOptions.FailedReceiverLastFor"/> is tried after the others. A receiver that answered
/// DUH or something unreadable for an alarm is not sent that alarm again until the bridge restarts.
/// </summary>
public sealed partial class Dc09Upstream : IUpstream
{
    /// <summary>Contact ID 601 "manual trigger test report": how an installer's test reaches a receiver without a dispatch.</summary>
    public const int TestReportCode = Protocol.ContactIdCode.ManualTestReport;

    private const string Done = "not sent again (it answered DUH or unreadably before)";

    private readonly Dc09UpstreamOptions _options;
    private readonly UpstreamDeliveryStore _deliveries;
    private readonly IReadOnlyList<(string Label, Dc09Sender Sender)> _receivers;
    private readonly SiteSurroundings? _surroundings;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    // When each receiver's last attempt failed transiently (a TimeProvider timestamp); 0 once it answered again.
    // Only the upstream's one delivery loop touches it.
    private readonly long[] _failedAt;

    // Per alarm, the receivers that answered it in a way a copy would not change (DUH, unreadable); until restart.
    private readonly Dictionary<string, HashSet<int>> _doneWith = new(StringComparer.Ordinal);

    /// <param name="surroundings">Adds the site and its nearest cameras as extended data; null leaves them out.</param>
    public Dc09Upstream(Dc09UpstreamOptions options, UpstreamDeliveryStore deliveries, TimeProvider time, ILogger<Dc09Upstream> logger, SiteSurroundings? surroundings = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _surroundings = surroundings;
        _deliveries = deliveries;
        _logger = logger;
        _time = time;
        _failedAt = new long[options.Receivers.Count];
        _receivers = [.. options.Receivers.Select((r, i) => (Label(r, i), new Dc09Sender(new Dc09SenderOptions
        {
            Host = r.Host,
            Port = r.Port,
            ReceiverNumber = string.IsNullOrEmpty(r.ReceiverNumber) ? null : r.ReceiverNumber,
            LinePrefix = r.LinePrefix,
            Key = string.IsNullOrEmpty(r.KeyHex) ? null : Convert.FromHexString(r.KeyHex),
            ConnectTimeout = options.ConnectTimeout,
            AckTimeout = options.AckTimeout,

            // Within one delivery only the immediate NAK resend and a quick second try; longer waits are the outbox's.
            Retry = new Dc09RetryPolicy { MaxAttempts = options.AttemptsPerDelivery, InitialDelay = TimeSpan.FromMilliseconds(200), MaxDelay = TimeSpan.FromSeconds(1) },
            SupervisionInterval = options.SupervisionInterval,
            SupervisionAccount = options.SupervisionInterval is null ? null : options.SupervisionAccount ?? options.DefaultAccount,
            IncludeTimeOfOccurrence = options.IncludeTimeOfOccurrence,
            TimeProvider = time,
        })))];
    }

    public string Name => _options.Name;

    public string Kind => "dc09";

    /// <summary>Each receiver's link, in order: <c>connected: …</c>, then <c>receiver 2 (host:port) disconnected: …</c>.</summary>
    public string? Link => string.Join(" | ", _receivers.Select((r, i) =>
    {
        Dc09ConnectionStatus status = r.Sender.ConnectionStatus;
        return (i == 0 ? "" : r.Label + " ") + $"{status.State.ToString().ToLowerInvariant()}: {status.Reason}";
    }));

    /// <summary>Answers from any of the receivers that settled nothing (unreadable header, another sequence number) since start.</summary>
    public long UnreadableAnswers => _receivers.Sum(r => r.Sender.UnreadableAnswers);

    /// <summary>Device site first, then district, then the default; null when the receiver knows no account for it.</summary>
    public static string? AccountFor(Dc09UpstreamOptions options, AlarmRecord alarm)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(alarm);
        return options.AccountsByDevice.GetValueOrDefault(alarm.DeviceId)
            ?? options.AccountsByDistrict.GetValueOrDefault(alarm.DistrictCode)
            ?? options.DefaultAccount;
    }

    /// <summary>
    /// The ADM-CID event for an alarm. A test alarm (installer's walk test) goes as 601 test report
    /// with the same zone, so the receiver logs that the path works and dispatches nobody.
    /// </summary>
    public static Dc09Alarm ToDc09(AlarmRecord alarm, string account, int partition, Surroundings? surroundings = null)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        bool asTest = alarm.Test && alarm.EventCode is not (601 or 602);
        var qualifier = asTest ? ContactIdQualifier.NewEvent : (ContactIdQualifier)alarm.Qualifier;
        return new Dc09Alarm(account, qualifier, asTest ? TestReportCode : alarm.EventCode, partition, alarm.Zone, alarm.Key, alarm.RaisedAt)
        {
            Location = surroundings is null ? null : (alarm.Latitude, alarm.Longitude),
            Verification = surroundings is null ? null : CameraText(surroundings.Cameras),
        };
    }

    /// <summary>
    /// The nearest cameras as DC-09 verification text, nearest first, as many whole entries as fit in its 256
    /// ASCII characters: <c>CCTV 12m x1 37.540500,127.069000;…</c> (distance, camera count, position). The published
    /// labels are Korean, which DC-09's character set cannot carry; the position identifies the point.
    /// </summary>
    public static string? CameraText(IReadOnlyList<NearbyCameraView> cameras)
    {
        ArgumentNullException.ThrowIfNull(cameras);
        if (cameras.Count == 0)
        {
            return null;
        }

        var text = new System.Text.StringBuilder("CCTV");
        foreach (NearbyCameraView camera in cameras)
        {
            string entry = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{(text.Length == 4 ? " " : ";")}{camera.Metres}m x{camera.Cameras} {camera.Lat:F6},{camera.Lon:F6}");
            if (text.Length + entry.Length > Dc09Alarm.MaxVerificationLength)
            {
                break;
            }

            text.Append(entry);
        }

        return text.ToString();
    }

    /// <summary>
    /// One attempt: the receivers in order, each with the sender's own bounded retries, until one ACKs. One that
    /// answers DUH or unreadably is passed over for this alarm from then on; if every receiver is done with it the
    /// alarm is held, otherwise (one was down, silent or NAKing) the outbox tries again after its backoff.
    /// </summary>
    public async Task<DeliveryResult> DeliverAsync(AlarmRecord alarm, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        if (AccountFor(_options, alarm) is not { } account)
        {
            return DeliveryResult.Held($"no DC-09 account for device {alarm.DeviceId} or district {alarm.DistrictCode}");
        }

        if (!Enum.IsDefined((ContactIdQualifier)alarm.Qualifier))
        {
            return DeliveryResult.Held($"Contact ID qualifier {alarm.Qualifier} has no DC-09 form");
        }

        Dc09Alarm message = ToDc09(alarm, account, _options.Partition, _surroundings?.Of(alarm));

        // One number per alarm on every receiver of the list, so a centre whose receivers share one automation
        // system sees a copy that came by another receiver as the repetition it is.
        int sequence = await _deliveries.WireSequenceAsync(alarm.Key, Name, cancellationToken);
        HashSet<int> done = DoneWith(alarm.Key);
        var reasons = new List<string>();
        bool transient = false;
        foreach (int i in Order())
        {
            (string label, Dc09Sender sender) = _receivers[i];
            if (done.Contains(i))
            {
                reasons.Add($"{label}: {Done}");
                continue;
            }

            Dc09SendOutcome outcome = await sender.SendAsync(message, sequence, cancellationToken);
            string detail = $"{label}: seq {outcome.Sequence:D4}, {outcome.Attempts} transmission(s): {outcome.Detail}";
            _failedAt[i] = outcome.Status == Dc09SendStatus.Failed ? _time.GetTimestamp() : 0;
            switch (outcome.Status)
            {
                case Dc09SendStatus.Acknowledged:
                    Forget(alarm.Key);
                    return DeliveryResult.Delivered(detail);
                case Dc09SendStatus.AnswerUnreadable:
                    LogUnreadable(_logger, alarm.Key, Name, label, outcome.Detail);
                    MarkDone(alarm.Key, i);
                    break;
                case Dc09SendStatus.NotUnderstood:
                    MarkDone(alarm.Key, i);
                    break;
                default:
                    transient = true;
                    break;
            }

            reasons.Add(detail);
        }

        string all = string.Join("; ", reasons);
        if (transient)
        {
            return DeliveryResult.Transient(all);
        }

        Forget(alarm.Key);
        return DeliveryResult.Held(all);
    }

    public Task RunAsync(CancellationToken cancellationToken) =>
        _options.SupervisionInterval is null
            ? Task.CompletedTask
            : Task.WhenAll(_receivers.Select(r => r.Sender.RunSupervisionAsync(cancellationToken)));

    public async ValueTask DisposeAsync()
    {
        foreach ((_, Dc09Sender sender) in _receivers)
        {
            await sender.DisposeAsync();
        }
    }

    private static string Label(Dc09ReceiverOptions receiver, int index) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"receiver {index + 1} ({receiver.Host}:{receiver.Port})");

    /// <summary>The receivers in configured order, those that failed transiently a short while ago moved to the end.</summary>
    private IEnumerable<int> Order()
    {
        bool RecentlyFailed(int i) => _failedAt[i] != 0 && _time.GetElapsedTime(_failedAt[i]) < _options.FailedReceiverLastFor;
        int[] all = [.. Enumerable.Range(0, _receivers.Count)];
        return [.. all.Where(i => !RecentlyFailed(i)), .. all.Where(RecentlyFailed)];
    }

    private HashSet<int> DoneWith(string key)
    {
        lock (_doneWith)
        {
            return _doneWith.TryGetValue(key, out HashSet<int>? done) ? [.. done] : [];
        }
    }

    private void MarkDone(string key, int receiver)
    {
        lock (_doneWith)
        {
            if (!_doneWith.TryGetValue(key, out HashSet<int>? done))
            {
                _doneWith[key] = done = [];
            }

            done.Add(receiver);
        }
    }

    // Settled or held: the dispatcher will not offer it again before a restart, which starts afresh anyway.
    private void Forget(string key)
    {
        lock (_doneWith)
        {
            _doneWith.Remove(key);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alarm {Key}: {Receiver} of upstream {Upstream} answered unreadably ({Answer}); not sent there again")]
    private static partial void LogUnreadable(ILogger logger, string key, string upstream, string receiver, string answer);
}
