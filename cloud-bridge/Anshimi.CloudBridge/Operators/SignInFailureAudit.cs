using System.Globalization;
using Anshimi.CloudBridge.Audit;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Operators;

/// <summary>
/// Failed and refused sign-ins reach the audit log in batches: counted in memory per user name, source and reason,
/// written every <see cref="OperatorOptions.FailureAuditInterval"/> (and at shutdown) as one row per group with its
/// count and first and last time. A wrong password thus costs no audit write of its own, so a flood of them
/// neither queues behind the audit log's single writer nor slows the operators' own audited actions. A crash loses
/// at most one interval of failure counts.
/// </summary>
public sealed partial class SignInFailureAudit : BackgroundService
{
    /// <summary>Groups kept between writes; further new groups are counted together as one overflow row.</summary>
    public const int MaxGroups = 10_000;

    private const string Overflow = "*";

    private readonly AuditLog _audit;
    private readonly OperatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SignInFailureAudit> _logger;
    private readonly Lock _gate = new();
    private Dictionary<(string UserName, string Source, string Reason), Group> _pending = [];

    public SignInFailureAudit(AuditLog audit, IOptions<OperatorOptions> options, TimeProvider time, ILogger<SignInFailureAudit> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _audit = audit;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Counts one failed (<paramref name="refused"/>: throttled) attempt; never waits for the disk.</summary>
    public void Record(string userName, string source, string reason, bool refused)
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_gate)
        {
            var key = (userName, source, reason);
            if (!_pending.ContainsKey(key) && _pending.Count >= MaxGroups)
            {
                key = (Overflow, Overflow, "other attempts");
            }

            _pending[key] = _pending.TryGetValue(key, out Group group)
                ? group with { Count = group.Count + 1, Last = now }
                : new Group(1, now, now, refused);
        }
    }

    /// <summary>Writes everything counted so far, one audit row per group.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        Dictionary<(string UserName, string Source, string Reason), Group> batch;
        lock (_gate)
        {
            batch = _pending;
            _pending = [];
        }

        foreach (((string userName, string source, string reason), Group group) in batch.OrderBy(e => e.Value.First))
        {
            string times = group.Count == 1
                ? group.First.ToString("O", CultureInfo.InvariantCulture)
                : group.First.ToString("O", CultureInfo.InvariantCulture) + " – " + group.Last.ToString("O", CultureInfo.InvariantCulture);
            await _audit.AppendAsync(new AuditEntry(userName, group.Refused ? AuditAction.SignInThrottled : AuditAction.SignInFailed, userName, "",
                AuditOutcome.Refused, string.Create(CultureInfo.InvariantCulture, $"{group.Count} × {reason} from {source}, {times}")), cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.FailureAuditInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushLoggedAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushLoggedAsync(cancellationToken);
    }

    private async Task FlushLoggedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFlushFailed(_logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing failed sign-ins to the audit log failed; those counts are lost")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);

    private readonly record struct Group(long Count, DateTimeOffset First, DateTimeOffset Last, bool Refused);
}
