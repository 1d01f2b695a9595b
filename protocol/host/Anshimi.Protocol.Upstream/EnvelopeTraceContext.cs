using System.Diagnostics;

namespace Anshimi.Protocol.Upstream;

/// <summary>The W3C trace context an <see cref="AlarmEnvelope"/> may carry (protocol/README.md §5).</summary>
public static class EnvelopeTraceContext
{
    /// <summary>W3C limits <c>tracestate</c> to 32 members; anything longer than this is not one.</summary>
    public const int MaxTraceStateLength = 512;

    /// <summary>The envelope with <paramref name="activity"/>'s context, or unchanged when there is no activity.</summary>
    public static AlarmEnvelope WithTraceContext(this AlarmEnvelope envelope, Activity? activity)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return activity?.IdFormat == ActivityIdFormat.W3C && activity.Id is string id
            ? envelope with { TraceParent = id, TraceState = activity.TraceStateString }
            : envelope;
    }

    /// <summary>
    /// The remote parent the envelope names; false for a missing or malformed <c>traceparent</c> (the caller then
    /// starts a new trace). A malformed <c>tracestate</c> is dropped and the parent kept. Never throws.
    /// </summary>
    public static bool TryGetParent(this AlarmEnvelope envelope, out ActivityContext parent)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        parent = default;
        // Version 00 exactly: "00-" 32 hex "-" 16 hex "-" 2 hex; the platform parser does not check the dashes.
        if (envelope.TraceParent is not { Length: 55 } traceParent || !traceParent.StartsWith("00-", StringComparison.Ordinal) ||
            traceParent[35] != '-' || traceParent[52] != '-')
        {
            return false;
        }

        string? traceState = envelope.TraceState is { Length: <= MaxTraceStateLength } state && IsPrintableAscii(state) ? state : null;
        return ActivityContext.TryParse(traceParent, traceState, isRemote: true, out parent) && parent != default;
    }

    private static bool IsPrintableAscii(string text)
    {
        foreach (char c in text)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
