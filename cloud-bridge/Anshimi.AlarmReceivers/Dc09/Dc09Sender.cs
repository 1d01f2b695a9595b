using System.Globalization;
using System.Net.Sockets;

namespace Anshimi.AlarmReceivers.Dc09;

/// <summary>
/// Reports alarms to one DC-09 receiver over a kept-open TCP connection: one message at a time,
/// each waiting for its ACK, retried by <see cref="Dc09SenderOptions.Retry"/>. Receiver
/// misbehaviour (refusal, silence, NAK, DUH, garbage, a dropped connection) ends in a
/// <see cref="Dc09SendOutcome"/>, never an exception; only cancellation throws.
/// </summary>
public sealed class Dc09Sender : IAsyncDisposable
{
    // Sequence numbers remembered per idempotency key; enough for any burst a receiver sees.
    private const int RememberedKeys = 1024;

    private readonly Dc09SenderOptions options;
    private readonly TimeProvider time;
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Dictionary<string, int> sequenceByKey = [];
    private readonly Queue<string> keysInOrder = new();
    private TcpClient? client;
    private Dc09FrameReader? reader;
    private int lastSequence;
    private long unreadableAnswers;
    private long lastExchange;
    private TimeSpan clockOffset;
    private Dc09ConnectionStatus status;

    public Dc09Sender(Dc09SenderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
        time = options.TimeProvider;
        lastSequence = options.LastSequence;
        lastExchange = time.GetTimestamp();
        status = new Dc09ConnectionStatus(Dc09ConnectionState.Disconnected, "not connected yet", time.GetUtcNow());
    }

    /// <summary>Raised on every change of <see cref="ConnectionStatus"/>, on the sending thread.</summary>
    public event EventHandler<Dc09ConnectionStatus>? ConnectionStateChanged;

    public Dc09ConnectionStatus ConnectionStatus => Volatile.Read(ref status);

    /// <summary>Receiver clock minus ours, learnt from the last NAK; added to every timestamp we send.</summary>
    public TimeSpan ClockOffset => clockOffset;

    /// <summary>Answers that settled nothing (unreadable, another sequence number) since this sender was made.</summary>
    public long UnreadableAnswers => Interlocked.Read(ref unreadableAnswers);

    /// <summary>The last sequence number handed out; persist it to continue the series after a restart.</summary>
    public int LastSequence => Volatile.Read(ref lastSequence);

    /// <summary>Sends one alarm as ADM-CID and waits for its ACK, retrying transient failures.</summary>
    public Task<Dc09SendOutcome> SendAsync(Dc09Alarm alarm, CancellationToken cancellationToken) =>
        SendCoreAsync(alarm, null, cancellationToken);

    /// <summary>
    /// Sends one alarm with a sequence number the caller persisted (1–9999), so a repetition after a
    /// restart of the caller still carries the number the receiver saw first.
    /// </summary>
    public Task<Dc09SendOutcome> SendAsync(Dc09Alarm alarm, int sequence, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sequence, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequence, 9999);
        return SendCoreAsync(alarm, sequence, cancellationToken);
    }

    /// <summary>The next sequence number after <paramref name="last"/>: 0001–9999 and round again; 0000 belongs to supervision.</summary>
    public static int NextSequence(int last) => last >= 9999 ? 1 : last + 1;

    private async Task<Dc09SendOutcome> SendCoreAsync(Dc09Alarm alarm, int? sequenceGiven, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        alarm.Validate();
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            int sequence = sequenceGiven ?? SequenceFor(alarm.IdempotencyKey);
            string extended = alarm.ExtendedData(options.IncludeTimeOfOccurrence);
            for (int attempt = 1; ; attempt++)
            {
                // Built afresh for each attempt: a current timestamp (with any NAK correction) and a new pad.
                (Dc09Failure? failure, string detail) = await ExchangeAsync(now => new Dc09Message
                {
                    Token = Dc09Message.ContactIdToken,
                    Sequence = sequence,
                    Receiver = options.ReceiverNumber,
                    Line = options.LinePrefix,
                    Account = alarm.Account,
                    Data = alarm.ContactIdData,
                    ExtendedData = extended,
                    Timestamp = now,
                }, sequence, cancellationToken).ConfigureAwait(false);

                if (failure is not { } f)
                {
                    return new Dc09SendOutcome(Dc09SendStatus.Acknowledged, sequence, attempt, null, detail);
                }

                if (!options.Retry.ShouldRetry(f, attempt))
                {
                    return Unsuccessful(f, sequence, attempt, detail);
                }

                await Task.Delay(options.Retry.DelayAfter(f, attempt), time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Sends one NULL supervision message (sequence 0000) and waits for its ACK; not retried.</summary>
    public async Task<Dc09SendOutcome> SendSupervisionAsync(CancellationToken cancellationToken)
    {
        string account = options.SupervisionAccount
            ?? throw new InvalidOperationException("Supervision needs Dc09SenderOptions.SupervisionAccount.");
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            (Dc09Failure? failure, string detail) = await ExchangeAsync(now => new Dc09Message
            {
                Token = Dc09Message.NullToken,
                Sequence = 0,
                Receiver = options.ReceiverNumber,
                Line = options.LinePrefix,
                Account = account,
                Timestamp = now,
            }, 0, cancellationToken).ConfigureAwait(false);
            return failure is { } f
                ? Unsuccessful(f, 0, 1, detail)
                : new Dc09SendOutcome(Dc09SendStatus.Acknowledged, 0, 1, null, detail);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Sends a NULL message whenever the link has been idle for
    /// <see cref="Dc09SenderOptions.SupervisionInterval"/>, until cancelled (then throws
    /// <see cref="OperationCanceledException"/>). A failed NULL shows in <see cref="ConnectionStatus"/>.
    /// </summary>
    public async Task RunSupervisionAsync(CancellationToken cancellationToken)
    {
        TimeSpan interval = options.SupervisionInterval
            ?? throw new InvalidOperationException("Supervision needs Dc09SenderOptions.SupervisionInterval.");
        while (true)
        {
            TimeSpan idle = time.GetElapsedTime(Interlocked.Read(ref lastExchange));
            if (idle < interval)
            {
                await Task.Delay(interval - idle, time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await SendSupervisionAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            client?.Dispose();
            client = null;
        }
        finally
        {
            gate.Release();
        }
    }

    private static Dc09SendOutcome Unsuccessful(Dc09Failure failure, int sequence, int attempts, string detail) =>
        new(failure switch
        {
            Dc09Failure.NotUnderstood => Dc09SendStatus.NotUnderstood,
            Dc09Failure.MalformedResponse => Dc09SendStatus.AnswerUnreadable,
            _ => Dc09SendStatus.Failed,
        }, sequence, attempts, failure, detail);

    private int SequenceFor(string idempotencyKey)
    {
        if (sequenceByKey.TryGetValue(idempotencyKey, out int known))
        {
            return known;
        }

        int next = NextSequence(lastSequence);
        Volatile.Write(ref lastSequence, next);
        sequenceByKey[idempotencyKey] = next;
        keysInOrder.Enqueue(idempotencyKey);
        if (keysInOrder.Count > RememberedKeys)
        {
            sequenceByKey.Remove(keysInOrder.Dequeue());
        }

        return next;
    }

    /// <summary>One transmission and its answer. Null failure means ACK.</summary>
    private async Task<(Dc09Failure? Failure, string Detail)> ExchangeAsync(
        Func<DateTimeOffset, Dc09Message> build, int sequence, CancellationToken cancellationToken)
    {
        try
        {
            if (client is null && await ConnectAsync(cancellationToken).ConfigureAwait(false) is { } connectError)
            {
                return (Dc09Failure.ConnectionFailed, connectError);
            }

            byte[] frame = build(time.GetUtcNow() + clockOffset).Encode(options.Key);
            using var answer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            answer.CancelAfter(options.AckTimeout);
            await client!.GetStream().WriteAsync(frame, answer.Token).ConfigureAwait(false);
            byte[]? reply = await reader!.ReadFrameAsync(answer.Token).ConfigureAwait(false);
            return reply is null
                ? Disconnect(Dc09Failure.ConnectionFailed, "the receiver closed the connection")
                : Interpret(reply, sequence);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A late answer would be mistaken for the next message's, so the connection goes.
            return Disconnect(Dc09Failure.Timeout, $"no answer within {options.AckTimeout}");
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            return Disconnect(Dc09Failure.ConnectionFailed, $"connection lost: {e.Message}");
        }
        finally
        {
            Interlocked.Exchange(ref lastExchange, time.GetTimestamp());
        }
    }

    /// <summary>Null when connected, otherwise why not.</summary>
    private async Task<string?> ConnectAsync(CancellationToken cancellationToken)
    {
        var candidate = new TcpClient { NoDelay = true };
        try
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connect.CancelAfter(options.ConnectTimeout);
            await candidate.ConnectAsync(options.Host, options.Port, connect.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException
                                  || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            candidate.Dispose();
            string reason = e is OperationCanceledException
                ? $"connect to {options.Host}:{options.Port} timed out after {options.ConnectTimeout}"
                : $"connect to {options.Host}:{options.Port} failed: {e.Message}";
            SetStatus(Dc09ConnectionState.Disconnected, reason);
            return reason;
        }
        catch
        {
            candidate.Dispose();
            throw;
        }

        client = candidate;
        reader = new Dc09FrameReader(candidate.GetStream());
        SetStatus(Dc09ConnectionState.Connected, $"connected to {options.Host}:{options.Port}");
        return null;
    }

    private (Dc09Failure? Failure, string Detail) Interpret(byte[] reply, int sequence)
    {
        if (!ReceiverResponse.TryParse(reply, options.Key, out ReceiverResponse? response, out string error))
        {
            Interlocked.Increment(ref unreadableAnswers);
            return Disconnect(Dc09Failure.MalformedResponse, $"unreadable answer ({error}): {Printable(reply)}");
        }

        switch (response!.Kind)
        {
            case ReceiverResponseKind.Ack when response.Sequence != sequence:
                Interlocked.Increment(ref unreadableAnswers);
                return Disconnect(Dc09Failure.MalformedResponse,
                    $"ACK for sequence {response.Sequence:D4} while waiting for {sequence:D4}");
            case ReceiverResponseKind.Ack:
                return (null, "acknowledged");
            case ReceiverResponseKind.Nak when response.ReceiverTime is { } receiverTime:
                clockOffset = receiverTime - time.GetUtcNow();
                return (Dc09Failure.Nak, $"NAK; receiver clock {receiverTime:u}, our offset now {clockOffset}");
            case ReceiverResponseKind.Nak:
                return (Dc09Failure.Nak, response.Bare ? "bare NAK (no DC-09 frame)" : "NAK without receiver time");
            default:
                return (Dc09Failure.NotUnderstood, "DUH: the receiver does not understand the message");
        }
    }

    /// <summary>The answer as text for a log line: printable ASCII kept, everything else as \xNN, at most 120 bytes.</summary>
    private static string Printable(byte[] reply)
    {
        var text = new System.Text.StringBuilder();
        foreach (byte b in reply.AsSpan(0, Math.Min(reply.Length, 120)))
        {
            if (b is >= 0x20 and < 0x7F)
            {
                text.Append((char)b);
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
            }
        }

        return text.ToString();
    }

    private (Dc09Failure? Failure, string Detail) Disconnect(Dc09Failure failure, string reason)
    {
        client?.Dispose();
        client = null;
        reader = null;
        SetStatus(Dc09ConnectionState.Disconnected, reason);
        return (failure, reason);
    }

    private void SetStatus(Dc09ConnectionState state, string reason)
    {
        Dc09ConnectionStatus current = status;
        if (current.State == state && current.Reason == reason)
        {
            return;
        }

        var next = new Dc09ConnectionStatus(state, reason, time.GetUtcNow());
        Volatile.Write(ref status, next);
        ConnectionStateChanged?.Invoke(this, next);
    }
}
