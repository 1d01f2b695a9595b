namespace Anshimi.AlarmReceivers.Dc09;

/// <summary>Why one transmission to the receiver did not end in an ACK.</summary>
public enum Dc09Failure
{
    /// <summary>The receiver rejected the message (NAK); its clock is applied to the next attempt.</summary>
    Nak,

    /// <summary>DUH: the receiver does not understand the message. Permanent.</summary>
    NotUnderstood,

    /// <summary>No answer within the ACK timeout.</summary>
    Timeout,

    /// <summary>Could not connect, or the connection broke or was closed.</summary>
    ConnectionFailed,

    /// <summary>
    /// An answer that does not settle this message: a header that cannot be read (e.g. a receiver number printed
    /// as <c>None</c>), an ACK for another sequence number, or bytes that are no DC-09 answer. The receiver may have
    /// taken the message, so it is not sent to that receiver again. Permanent.
    /// </summary>
    MalformedResponse,
}

/// <summary>
/// Which failures are sent again and when. Only transient faults are: a NAK is retried at once (its receiver
/// time has just corrected our clock), no answer and a lost or refused connection after a delay that starts at
/// <see cref="InitialDelay"/> and doubles up to <see cref="MaxDelay"/>, until <see cref="MaxAttempts"/>
/// transmissions in all. DUH and an answer that does not settle the message are never sent again: a receiver
/// that does not understand will not understand a copy, and one whose answers cannot be read may have taken
/// every copy as a new event. The caller's durable outbox takes over after that.
/// </summary>
public sealed record Dc09RetryPolicy
{
    public int MaxAttempts { get; init; } = 5;

    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    public static bool IsTransient(Dc09Failure failure) => failure is Dc09Failure.Nak or Dc09Failure.Timeout or Dc09Failure.ConnectionFailed;

    public bool ShouldRetry(Dc09Failure failure, int attemptsMade) => IsTransient(failure) && attemptsMade < MaxAttempts;

    /// <summary>The wait before the next attempt after <paramref name="attemptsMade"/> (1 or more) failed.</summary>
    public TimeSpan DelayAfter(Dc09Failure failure, int attemptsMade)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attemptsMade, 1);
        if (failure == Dc09Failure.Nak)
        {
            return TimeSpan.Zero;
        }

        // Clamping the exponent keeps the multiply in range; 2^20 × any sane delay is past MaxDelay.
        double ticks = InitialDelay.Ticks * Math.Pow(2, Math.Min(attemptsMade - 1, 20));
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDelay, InitialDelay);
    }
}
