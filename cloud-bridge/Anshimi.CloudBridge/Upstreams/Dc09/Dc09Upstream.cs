using Anshimi.AlarmReceivers.Dc09;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Cameras;

namespace Anshimi.CloudBridge.Upstreams.Dc09;

/// <summary>
/// An alarm receiver reached in SIA DC-09 (ADM-CID): picks the account for the alarm's site, takes the
/// delivery's persisted sequence number and sends through <see cref="Dc09Sender"/> (timestamps with
/// NAK clock correction, optional AES, NULL supervision while idle).
/// </summary>
public sealed class Dc09Upstream : IUpstream
{
    /// <summary>Contact ID 601 "manual trigger test report": how an installer's test reaches a receiver without a dispatch.</summary>
    public const int TestReportCode = Protocol.ContactIdCode.ManualTestReport;

    private readonly Dc09UpstreamOptions _options;
    private readonly UpstreamDeliveryStore _deliveries;
    private readonly Dc09Sender _sender;
    private readonly SiteSurroundings? _surroundings;

    /// <param name="surroundings">Adds the site and its nearest cameras as extended data; null leaves them out.</param>
    public Dc09Upstream(Dc09UpstreamOptions options, UpstreamDeliveryStore deliveries, TimeProvider time, SiteSurroundings? surroundings = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _surroundings = surroundings;
        _deliveries = deliveries;
        _sender = new Dc09Sender(new Dc09SenderOptions
        {
            Host = options.Host,
            Port = options.Port,
            ReceiverNumber = string.IsNullOrEmpty(options.ReceiverNumber) ? null : options.ReceiverNumber,
            LinePrefix = options.LinePrefix,
            Key = string.IsNullOrEmpty(options.KeyHex) ? null : Convert.FromHexString(options.KeyHex),
            ConnectTimeout = options.ConnectTimeout,
            AckTimeout = options.AckTimeout,

            // Within one delivery only the immediate NAK resend and a quick second try; longer waits are the outbox's.
            Retry = new Dc09RetryPolicy { MaxAttempts = options.AttemptsPerDelivery, InitialDelay = TimeSpan.FromMilliseconds(200), MaxDelay = TimeSpan.FromSeconds(1) },
            SupervisionInterval = options.SupervisionInterval,
            SupervisionAccount = options.SupervisionInterval is null ? null : options.SupervisionAccount ?? options.DefaultAccount,
            IncludeTimeOfOccurrence = options.IncludeTimeOfOccurrence,
            TimeProvider = time,
        });
    }

    public string Name => _options.Name;

    public string Kind => "dc09";

    public string? Link
    {
        get
        {
            Dc09ConnectionStatus status = _sender.ConnectionStatus;
            return $"{status.State.ToString().ToLowerInvariant()}: {status.Reason}";
        }
    }

    /// <summary>The receiver's clock minus ours, as learnt from its last NAK.</summary>
    public TimeSpan ClockOffset => _sender.ClockOffset;

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

    public async Task<DeliveryResult> DeliverAsync(AlarmRecord alarm, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        if (AccountFor(_options, alarm) is not { } account)
        {
            return DeliveryResult.Rejected($"no DC-09 account for device {alarm.DeviceId} or district {alarm.DistrictCode}");
        }

        if (!Enum.IsDefined((ContactIdQualifier)alarm.Qualifier))
        {
            return DeliveryResult.Rejected($"Contact ID qualifier {alarm.Qualifier} has no DC-09 form");
        }

        Dc09Alarm message = ToDc09(alarm, account, _options.Partition, _surroundings?.Of(alarm));
        int sequence = await _deliveries.WireSequenceAsync(alarm.Key, Name, cancellationToken);
        Dc09SendOutcome outcome = await _sender.SendAsync(message, sequence, cancellationToken);
        string detail = $"seq {outcome.Sequence:D4}, {outcome.Attempts} transmission(s): {outcome.Detail}";
        return outcome.Status switch
        {
            Dc09SendStatus.Acknowledged => DeliveryResult.Delivered(detail),
            Dc09SendStatus.NotUnderstood => DeliveryResult.Rejected(detail),
            _ => DeliveryResult.Transient(detail),
        };
    }

    public Task RunAsync(CancellationToken cancellationToken) =>
        _options.SupervisionInterval is null ? Task.CompletedTask : _sender.RunSupervisionAsync(cancellationToken);

    public ValueTask DisposeAsync() => _sender.DisposeAsync();
}
