namespace Anshimi.AlarmReceivers.Dc09;

public enum Dc09SendStatus
{
    /// <summary>The receiver ACKed the message.</summary>
    Acknowledged,

    /// <summary>The receiver answered DUH; not retried. Needs a person (account or event not known there).</summary>
    NotUnderstood,

    /// <summary>Transient failures until the retry policy gave up; the caller may try again later.</summary>
    Failed,

    /// <summary>
    /// The receiver answered with something that does not settle the message (unreadable header, another
    /// sequence number); not sent again, since the receiver may have taken it. Needs a person.
    /// </summary>
    AnswerUnreadable,
}

/// <summary>How one <see cref="Dc09Sender"/> call ended.</summary>
/// <param name="Sequence">Sequence number the message carried (0000 for supervision).</param>
/// <param name="Attempts">Transmissions made, 1 or more.</param>
/// <param name="LastFailure">Why the last attempt failed; null when acknowledged.</param>
public sealed record Dc09SendOutcome(Dc09SendStatus Status, int Sequence, int Attempts, Dc09Failure? LastFailure, string Detail);

public enum Dc09ConnectionState
{
    Disconnected,
    Connected,
}

/// <summary>The link to the receiver, why it is in that state, and since when.</summary>
public sealed record Dc09ConnectionStatus(Dc09ConnectionState State, string Reason, DateTimeOffset Since);
