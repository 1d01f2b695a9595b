using System.Net;
using System.Net.Sockets;
using Anshimi.AlarmReceivers.Dc09;

namespace Anshimi.Testing;

/// <summary>What the receiver does with the next valid message.</summary>
public enum ReceiverBehavior
{
    Ack,
    Nak,

    /// <summary>Answers the bare text <c>"NAK"</c>, no frame around it (as receivers do for an account they do not know).</summary>
    BareNak,
    Duh,
    Silent,

    /// <summary>Takes the message and ACKs it with its receiver number printed as <c>None</c>: a header no parser can read.</summary>
    AckUnreadableHeader,

    /// <summary>Takes the message and ACKs another sequence number.</summary>
    AckWrongSequence,
}

/// <summary>Why the receiver NAKed a frame: a decode error name, "Window" or "Plain".</summary>
public sealed record ReceiverRejection(string Reason, string Detail);

/// <summary>
/// A DC-09 central-station receiver on a real TCP port: checks framing, length, CRC, the
/// timestamp window (on its own clock, optionally skewed), the sequence series per link (receiver
/// number and line prefix: one sender's series, whatever account each message names), and
/// decrypts with its key. Valid messages get the next scripted behaviour (ACK by default);
/// invalid ones get a NAK with the receiver's time. It can be stopped and restarted on the same port.
/// </summary>
public sealed class Dc09TestReceiver : IAsyncDisposable
{
    private readonly byte[]? key;
    private readonly TimeSpan clockSkew;
    private readonly Lock sync = new();
    private readonly Queue<ReceiverBehavior> script = new();
    private readonly List<Dc09Message> accepted = [];
    private readonly List<Dc09Message> received = [];
    private readonly List<ReceiverRejection> rejections = [];
    private readonly List<string> sequenceErrors = [];
    private readonly Dictionary<string, int> lastSequence = [];
    private readonly List<TcpClient> connections = [];
    private TcpListener? listener;
    private CancellationTokenSource? running;
    private Task accepting = Task.CompletedTask;
    private int frames;

    public Dc09TestReceiver(byte[]? key = null, TimeSpan clockSkew = default)
    {
        this.key = key;
        this.clockSkew = clockSkew;
    }

    public int Port { get; private set; }

    public int FramesReceived => Volatile.Read(ref frames);

    /// <summary>What every valid message gets once the script is used up; <see cref="ReceiverBehavior.Ack"/> unless set.</summary>
    public ReceiverBehavior Otherwise { get; set; } = ReceiverBehavior.Ack;

    public IReadOnlyList<Dc09Message> Accepted
    {
        get { lock (sync) { return [.. accepted]; } }
    }

    /// <summary>Every valid event message (not NULL), whatever the receiver answered: the copies it got.</summary>
    public IReadOnlyList<Dc09Message> Received
    {
        get { lock (sync) { return [.. received]; } }
    }

    public IReadOnlyList<ReceiverRejection> Rejections
    {
        get { lock (sync) { return [.. rejections]; } }
    }

    public IReadOnlyList<string> SequenceErrors
    {
        get { lock (sync) { return [.. sequenceErrors]; } }
    }

    /// <summary>A receiver whose port is reserved but that is not listening yet.</summary>
    public static async Task<Dc09TestReceiver> CreateDownAsync(byte[]? key = null)
    {
        var receiver = new Dc09TestReceiver(key);
        receiver.Start();
        await receiver.StopAsync();
        return receiver;
    }

    public void Script(params ReceiverBehavior[] behaviors)
    {
        lock (sync)
        {
            foreach (ReceiverBehavior behavior in behaviors)
            {
                script.Enqueue(behavior);
            }
        }
    }

    /// <summary>Listens on a free loopback port the first time, on the same port after that.</summary>
    public void Start()
    {
        listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        running = new CancellationTokenSource();
        accepting = AcceptAsync(listener, running.Token);
    }

    public async Task StopAsync()
    {
        if (running is null)
        {
            return;
        }

        await running.CancelAsync();
        listener!.Stop();
        lock (sync)
        {
            connections.ForEach(c => c.Dispose());
            connections.Clear();
        }

        await accepting;
        running.Dispose();
        running = null;
    }

    public async Task WaitForFramesAsync(int count, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (FramesReceived < count)
        {
            await Task.Delay(10, deadline.Token);
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private async Task AcceptAsync(TcpListener server, CancellationToken cancellationToken)
    {
        var serving = new List<Task>();
        try
        {
            while (true)
            {
                TcpClient connection = await server.AcceptTcpClientAsync(cancellationToken);
                lock (sync)
                {
                    connections.Add(connection);
                }

                serving.Add(ServeAsync(connection, cancellationToken));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        await Task.WhenAll(serving);
    }

    private async Task ServeAsync(TcpClient connection, CancellationToken cancellationToken)
    {
        try
        {
            Stream stream = connection.GetStream();
            var reader = new Dc09FrameReader(stream);
            while (await reader.ReadFrameAsync(cancellationToken) is { } frame)
            {
                Interlocked.Increment(ref frames);
                if (Handle(frame) is { } reply)
                {
                    await stream.WriteAsync(reply, cancellationToken);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // Peer went away or receiver stopped.
        }
        finally
        {
            connection.Dispose();
        }
    }

    private byte[]? Handle(byte[] frame)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow + clockSkew;
        Dc09DecodeResult decoded = Dc09Message.Decode(frame, key);
        if (decoded.Message is not { } message)
        {
            return Reject(decoded.Error.ToString(), decoded.Detail, now);
        }

        if (key is not null && !message.Encrypted)
        {
            return Reject("Plain", "this account requires encryption", now);
        }

        if (message.Timestamp is { } stamped && !Dc09Timestamp.IsAcceptable(stamped, now))
        {
            return Reject("Window", $"stamped {stamped:u}, receiver clock {now:u}", now);
        }

        ReceiverBehavior behavior;
        lock (sync)
        {
            if (message.Token != Dc09Message.NullToken)
            {
                CheckSequence(message);
                received.Add(message);
            }

            behavior = script.Count > 0 ? script.Dequeue() : Otherwise;
            if (behavior == ReceiverBehavior.Ack)
            {
                accepted.Add(message);
            }
        }

        return behavior switch
        {
            ReceiverBehavior.Ack => new Dc09Message
            {
                Token = Dc09Message.AckToken,
                Sequence = message.Sequence,
                Receiver = message.Receiver,
                Line = message.Line,
                Account = message.Account,
                Timestamp = message.Encrypted ? now : null,
            }.Encode(message.Encrypted ? key : default),
            ReceiverBehavior.Nak => Nak(now),
            ReceiverBehavior.BareNak => "\"NAK\""u8.ToArray(),
            ReceiverBehavior.AckUnreadableHeader => Frame(FormattableString.Invariant($"\"ACK\"{message.Sequence:D4}NoneL{message.Line}#{message.Account}[]")),
            ReceiverBehavior.AckWrongSequence => new Dc09Message
            {
                Token = Dc09Message.AckToken,
                Sequence = message.Sequence % 9999 + 1,
                Receiver = message.Receiver,
                Line = message.Line,
                Account = message.Account,
            }.Encode(),
            ReceiverBehavior.Duh => new Dc09Message
            {
                Token = Dc09Message.DuhToken,
                Sequence = message.Sequence,
                Receiver = message.Receiver,
                Line = message.Line,
                Account = message.Account,
            }.Encode(),
            _ => null,
        };
    }

    // A repetition keeps its number; a new message takes the next one, 9999 wrapping to 0001.
    private void CheckSequence(Dc09Message message)
    {
        string link = $"R{message.Receiver}L{message.Line}";
        if (lastSequence.TryGetValue(link, out int last)
            && message.Sequence != last
            && message.Sequence != (last == 9999 ? 1 : last + 1))
        {
            sequenceErrors.Add($"{link} #{message.Account}: {message.Sequence:D4} after {last:D4}");
        }

        lastSequence[link] = message.Sequence;
    }

    private byte[] Reject(string reason, string detail, DateTimeOffset now)
    {
        lock (sync)
        {
            rejections.Add(new ReceiverRejection(reason, detail));
        }

        return Nak(now);
    }

    /// <summary>A body framed as DC-09 frames are (LF, CRC, length, CR), whatever it says.</summary>
    private static byte[] Frame(string body)
    {
        byte[] bytes = System.Text.Encoding.Latin1.GetBytes(body);
        string head = FormattableString.Invariant($"\n{Dc09Crc.Compute(bytes):X4}0{bytes.Length:X3}");
        return [.. System.Text.Encoding.Latin1.GetBytes(head), .. bytes, (byte)'\r'];
    }

    private static byte[] Nak(DateTimeOffset now) =>
        new Dc09Message { Token = Dc09Message.NakToken, Timestamp = now }.Encode();
}
