using System.Net;
using System.Net.Sockets;

namespace Anshimi.Testing;

/// <summary>
/// A loopback TCP relay between clients and a server that can cut every connection at once with a reset,
/// the way a dead device or a failed Wi-Fi link looks to the broker (no DISCONNECT, so the last will fires).
/// It keeps listening, so clients can reconnect through it. <see cref="Pause"/> holds all traffic while
/// keeping connections open, like a link that silently stops delivering. <see cref="Tamper"/> makes it a man in the middle
/// of what the server sends: bytes matching a pattern are corrupted, lost with the connection, or held.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly List<Socket> _sockets = [];
    private readonly Task _acceptLoop;
    private TaskCompletionSource _flowing = NewFlowGate(open: true);
    private TaskCompletionSource _clientsFlowing = NewFlowGate(open: true);
    private byte[]? _cutAfterAnswerTo;
    private TaskCompletionSource? _cut;
    private byte[]? _pattern;
    private ProxyTamper _tamper;
    private int _tamperLeft;
    private int _tampered;

    private TcpProxy(IPEndPoint target)
    {
        _target = target;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen();
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public string Host => "127.0.0.1";

    public int Port { get; }

    /// <summary>Number of client connections currently relayed.</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_gate)
            {
                return _sockets.Count / 2;
            }
        }
    }

    /// <summary>How often a tamper armed by <see cref="Tamper"/> has struck.</summary>
    public int Tampered => Volatile.Read(ref _tampered);

    public static TcpProxy Start(int targetPort) => new(new IPEndPoint(IPAddress.Loopback, targetPort));

    /// <summary>
    /// The next <paramref name="times"/> times the server sends <paramref name="pattern"/> to a client: flip a byte in its
    /// middle (<see cref="ProxyTamper.Corrupt"/>), reset that connection before it is delivered (<see cref="ProxyTamper.Lose"/>),
    /// deliver what came before it and <see cref="Pause"/> (<see cref="ProxyTamper.Hold"/>), or only count it
    /// (<see cref="ProxyTamper.Watch"/>). The framing around it is untouched.
    /// </summary>
    public void Tamper(byte[] pattern, ProxyTamper action, int times = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentOutOfRangeException.ThrowIfLessThan(pattern.Length, 2);
        lock (_gate)
        {
            _pattern = pattern;
            _tamper = action;
            _tamperLeft = times;
        }
    }

    /// <summary>Holds every byte in both directions until <see cref="Resume"/>; connections stay open.</summary>
    public void Pause()
    {
        lock (_gate)
        {
            if (_flowing.Task.IsCompleted)
            {
                _flowing = NewFlowGate(open: false);
            }
        }
    }

    /// <summary>Holds what clients send (the server's traffic still reaches them) until <see cref="Resume"/>.</summary>
    public void PauseFromClients()
    {
        lock (_gate)
        {
            if (_clientsFlowing.Task.IsCompleted)
            {
                _clientsFlowing = NewFlowGate(open: false);
            }
        }
    }

    /// <summary>Delivers the held bytes and lets traffic flow again, both ways.</summary>
    public void Resume()
    {
        lock (_gate)
        {
            _flowing.TrySetResult();
            _clientsFlowing.TrySetResult();
        }
    }

    /// <summary>
    /// Arms a cut: the next connection whose client sends bytes containing <paramref name="request"/> has them delivered,
    /// and is reset on both sides when the server's answer comes, which the client never gets (a commit done by the
    /// server whose answer was lost). The task completes when the cut was made.
    /// </summary>
    public Task CutAfterAnswerTo(byte[] request)
    {
        lock (_gate)
        {
            _cutAfterAnswerTo = request;
            _cut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _cut.Task;
        }
    }

    /// <summary>Resets every relayed connection on both sides.</summary>
    public void DropConnections()
    {
        Socket[] sockets;
        lock (_gate)
        {
            sockets = [.. _sockets];
            _sockets.Clear();
        }

        foreach (var socket in sockets)
        {
            Reset(socket);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        DropConnections();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    private static TaskCompletionSource NewFlowGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            gate.SetResult();
        }

        return gate;
    }

    private Task Flowing(bool fromServer)
    {
        lock (_gate)
        {
            return fromServer ? _flowing.Task : Task.WhenAll(_flowing.Task, _clientsFlowing.Task);
        }
    }

    private void ArmIfRequested(ReadOnlySpan<byte> sent, RelayedConnection connection)
    {
        lock (_gate)
        {
            if (_cutAfterAnswerTo is { } request && sent.IndexOf(request) >= 0)
            {
                connection.CutOnAnswer = _cut;
                _cutAfterAnswerTo = null;
            }
        }
    }

    private (byte[]? Pattern, ProxyTamper Action) Armed()
    {
        lock (_gate)
        {
            return _tamperLeft > 0 ? (_pattern, _tamper) : (null, default);
        }
    }

    private bool Strike()
    {
        lock (_gate)
        {
            if (_tamperLeft <= 0)
            {
                return false;
            }

            _tamperLeft--;
            _tampered++;
            return true;
        }
    }

    // The longest end of data that is the start of pattern.
    private static int PartialMatch(byte[] data, byte[] pattern)
    {
        for (int length = Math.Min(pattern.Length - 1, data.Length); length > 0; length--)
        {
            if (data.AsSpan(data.Length - length).SequenceEqual(pattern.AsSpan(0, length)))
            {
                return length;
            }
        }

        return 0;
    }

    private static void Reset(Socket socket)
    {
        try
        {
            // Linger 0 makes Close send RST instead of FIN.
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(_target, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            Reset(client);
            server.Dispose();
            return;
        }

        lock (_gate)
        {
            _sockets.Add(client);
            _sockets.Add(server);
        }

        var connection = new RelayedConnection(client, server);
        await Task.WhenAny(PumpAsync(client, server, fromServer: false, connection), PumpAsync(server, client, fromServer: true, connection)).ConfigureAwait(false);
        lock (_gate)
        {
            _sockets.Remove(client);
            _sockets.Remove(server);
        }

        client.Dispose();
        server.Dispose();
    }

    private async Task PumpAsync(Socket from, Socket to, bool fromServer, RelayedConnection connection)
    {
        var buffer = new byte[16 * 1024];
        byte[] carried = [];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                await Flowing(fromServer).WaitAsync(_stopping.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    await to.SendAsync(carried, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (!fromServer)
                {
                    ArmIfRequested(buffer.AsSpan(0, read), connection);
                }
                else if (connection.CutOnAnswer is { } cut)
                {
                    Reset(connection.Client);
                    Reset(connection.Server);
                    cut.TrySetResult();
                    return;
                }

                byte[] data = [.. carried, .. buffer.AsSpan(0, read)];
                carried = [];
                (byte[]? pattern, ProxyTamper action) = fromServer ? Armed() : (null, default);
                if (pattern is null)
                {
                    await to.SendAsync(data, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                    continue;
                }

                int at = data.AsSpan().IndexOf(pattern);
                if (at < 0)
                {
                    // A pattern cut between two reads is matched whole on the next one.
                    int keep = PartialMatch(data, pattern);
                    carried = data[^keep..];
                    await to.SendAsync(data.AsMemory(0, data.Length - keep), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                    continue;
                }

                if (!Strike())
                {
                    await to.SendAsync(data, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                    continue;
                }

                switch (action)
                {
                    case ProxyTamper.Corrupt:
                        data[at + (pattern.Length / 2)] ^= 0xFF;
                        await to.SendAsync(data, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                        break;
                    case ProxyTamper.Watch:
                        await to.SendAsync(data, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                        break;
                    case ProxyTamper.Lose:
                        await to.SendAsync(data.AsMemory(0, at), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                        Reset(from);
                        Reset(to);
                        return;
                    default:
                        await to.SendAsync(data.AsMemory(0, at), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                        Pause();
                        await Flowing(fromServer).WaitAsync(_stopping.Token).ConfigureAwait(false);
                        await to.SendAsync(data.AsMemory(at), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private sealed class RelayedConnection(Socket client, Socket server)
    {
        public Socket Client { get; } = client;

        public Socket Server { get; } = server;

        public volatile TaskCompletionSource? CutOnAnswer;
    }
}

/// <summary>What <see cref="TcpProxy.Tamper"/> does to the bytes it matches.</summary>
public enum ProxyTamper
{
    /// <summary>One byte in the middle of the match is flipped; everything is delivered.</summary>
    Corrupt,

    /// <summary>The connection is reset before the match is delivered, as a link that fails mid-message.</summary>
    Lose,

    /// <summary>What came before the match is delivered, then all traffic is held until <see cref="TcpProxy.Resume"/>.</summary>
    Hold,

    /// <summary>Delivered unchanged and counted in <see cref="TcpProxy.Tampered"/>: the test knows it reached the client.</summary>
    Watch,
}
