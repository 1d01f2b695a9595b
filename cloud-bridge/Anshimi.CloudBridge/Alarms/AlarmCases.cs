using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Operators;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>How long an opened case shows a closed alarm's site and picture; bound from section "Cases".</summary>
public sealed class AlarmCaseOptions
{
    public const string SectionName = "Cases";

    public const int MinReasonLength = 4;
    public const int MaxReasonLength = 500;

    /// <summary>After this, central staff state a reason again.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>
/// Opening the case of a closed alarm (사건 열람): the MOU shows a resident's address, coordinates and picture only
/// while they ask for help; afterwards only central staff may see them, for a stated reason, and the opening is the
/// audit entry itself. The audit log is the record of opened cases: one implementation, nothing to keep in step.
/// </summary>
public sealed class AlarmCases
{
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly AlarmCaseOptions _options;

    public AlarmCases(AuditLog audit, TimeProvider time, IOptions<AlarmCaseOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _audit = audit;
        _time = time;
        _options = options.Value;
    }

    /// <summary>Records the opening with its reason (already checked by the caller).</summary>
    public Task OpenAsync(OperatorScope scope, AlarmRecord alarm, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(alarm);
        if (!scope.Central)
        {
            throw new InvalidOperationException("Only central staff open a closed alarm's case.");
        }

        return _audit.AppendAsync(new AuditEntry(scope.UserName, AuditAction.CaseOpen, alarm.Key, alarm.DistrictCode, AuditOutcome.Granted,
            "reason=" + reason), cancellationToken);
    }

    /// <summary>True while this central operator's last opening of the case is younger than the window.</summary>
    public async Task<bool> IsOpenAsync(OperatorScope scope, string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (!scope.Central)
        {
            return false;
        }

        AuditRecord? opened = await _audit.FindLatestAsync(scope.UserName, AuditAction.CaseOpen, key, cancellationToken);
        return opened is not null && _time.GetUtcNow() - opened.At < _options.Window;
    }

    /// <summary>A reason in the caller's words, trimmed; null when it is missing, too short or too long.</summary>
    public static string? CheckReason(string? reason)
    {
        string trimmed = (reason ?? "").Trim();
        return trimmed.Length is >= AlarmCaseOptions.MinReasonLength and <= AlarmCaseOptions.MaxReasonLength
            && !trimmed.Any(char.IsControl) ? trimmed : null;
    }
}
