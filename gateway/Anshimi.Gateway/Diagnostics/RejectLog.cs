using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Diagnostics;

/// <summary>
/// Logs rejected input at most once per reason per window, with the number left out, so a flood of
/// garbage cannot flood the journal. Metrics still count every one.
/// </summary>
public sealed partial class RejectLog(ILogger<RejectLog> logger, TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (DateTimeOffset LastLogged, int Suppressed)> _reasons = new(StringComparer.Ordinal);

    public void Report(string reason, string detail)
    {
        DateTimeOffset now = time.GetUtcNow();
        int suppressed;
        lock (_lock)
        {
            if (_reasons.TryGetValue(reason, out var state) && now - state.LastLogged < Window)
            {
                _reasons[reason] = (state.LastLogged, state.Suppressed + 1);
                return;
            }

            suppressed = state.Suppressed;
            _reasons[reason] = (now, 0);
        }

        if (suppressed == 0)
        {
            LogRejected(logger, reason, Printable(detail));
        }
        else
        {
            LogRejectedAgain(logger, reason, Printable(detail), suppressed);
        }
    }

    /// <summary>Details come from the network: keep them to one short printable line.</summary>
    private static string Printable(string detail)
    {
        const int MaxLength = 160;
        var text = new System.Text.StringBuilder(Math.Min(detail.Length, MaxLength));
        foreach (char c in detail.AsSpan(0, Math.Min(detail.Length, MaxLength)))
        {
            text.Append(char.IsControl(c) ? '?' : c);
        }

        return text.ToString();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected {Reason}: {Detail}")]
    private static partial void LogRejected(ILogger logger, string reason, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected {Reason}: {Detail} (and {Suppressed} more since the last report)")]
    private static partial void LogRejectedAgain(ILogger logger, string reason, string detail, int suppressed);
}
