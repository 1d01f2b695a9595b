namespace Anshimi.AlarmReceivers.Dc09;

/// <summary>Where and how a <see cref="Dc09Sender"/> reports to one alarm receiver.</summary>
public sealed record Dc09SenderOptions
{
    public required string Host { get; init; }

    public required int Port { get; init; }

    /// <summary>Receiver number (1–6 upper-case hex digits) for the 'R' field, or null to leave it out.</summary>
    public string? ReceiverNumber { get; init; }

    /// <summary>Account prefix (1–6 upper-case hex digits) for the 'L' field.</summary>
    public string LinePrefix { get; init; } = "0";

    /// <summary>AES key of 16, 24 or 32 bytes; null sends in the clear.</summary>
    public byte[]? Key { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long to wait for the receiver's answer to one transmission.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public Dc09RetryPolicy Retry { get; init; } = new();

    /// <summary>Send a NULL supervision message after this long without traffic; null for none.</summary>
    public TimeSpan? SupervisionInterval { get; init; }

    /// <summary>Account that NULL supervision messages name (3–16 upper-case hex digits).</summary>
    public string? SupervisionAccount { get; init; }

    /// <summary>The last sequence number used (0–9999), so a restarted sender continues the series.</summary>
    public int LastSequence { get; init; }

    /// <summary>Add the event's time as extended data <c>[H HH:MM:SS,MM-DD-YYYY]</c> (DC-09 "time of occurrence").</summary>
    public bool IncludeTimeOfOccurrence { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Host);
        ArgumentOutOfRangeException.ThrowIfLessThan(Port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Port, 65535);
        ValidateHexField(ReceiverNumber, nameof(ReceiverNumber));
        ValidateHexField(LinePrefix ?? throw new ArgumentNullException(nameof(LinePrefix)), nameof(LinePrefix));
        if (Key is not null)
        {
            Dc09Encryption.ValidateKey(Key);
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ConnectTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(AckTimeout, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(Retry);
        Retry.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(LastSequence);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(LastSequence, 9999);
        if (SupervisionInterval is { } interval)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(SupervisionInterval));
        }

        if (SupervisionAccount is not null || SupervisionInterval is not null)
        {
            ValidateAccount(SupervisionAccount, nameof(SupervisionAccount));
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
    }

    internal static void ValidateAccount(string? account, string name)
    {
        if (!IsAccount(account))
        {
            throw new ArgumentException("A DC-09 account is 3 to 16 upper-case hex digits (0-9, A-F).", name);
        }
    }

    private static void ValidateHexField(string? value, string name)
    {
        if (value is not null && !IsHexField(value))
        {
            throw new ArgumentException("Receiver number and account prefix are 1 to 6 upper-case hex digits (0-9, A-F).", name);
        }
    }

    /// <summary>
    /// 3–16 upper-case hex digits: receivers match accounts as written, and those that parse ADM-CID strictly
    /// take only 0-9 and A-F, so a lower-case account would be refused by them for ever.
    /// </summary>
    public static bool IsAccount(string? account) =>
        account is { Length: >= 3 and <= 16 } && account.All(char.IsAsciiHexDigitUpper);

    /// <summary>The 'R' (receiver number) and 'L' (account prefix) fields: 1–6 upper-case hex digits.</summary>
    public static bool IsHexField(string? value) =>
        value is { Length: >= 1 and <= 6 } && value.All(char.IsAsciiHexDigitUpper);
}
