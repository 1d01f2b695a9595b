using System.Net;
using System.Net.Sockets;

namespace Anshimi.Testing;

/// <summary>
/// A loopback TCP relay between clients and a server that can cut every connection at once with a reset,
/// the way a dead device or a failed Wi-Fi link looks to the broker (no DISCONNECT, so the last will fires).
/// It keeps listening, so clients can reconnect through it. <see cref="Pause"/> holds all traffic while
/// keeping connections open, like a link that silently stops delivering.
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
    private byte[]? _cutAfterAnswerTo;
    private TaskCompletionSource? _cut;

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

    public static TcpProxy Start(int targetPort) => new(new IPEndPoint(IPAddress.Loopback, targetPort));

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

    /// <summary>Delivers the held bytes and lets traffic flow again.</summary>
    public void Resume()
    {
        lock (_gate)
        {
            _flowing.TrySetResult();
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

    private Task Flowing()
    {
        lock (_gate)
        {
            return _flowing.Task;
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
        await Task.WhenAny(PumpAsync(client, server, connection), PumpAsync(server, client, connection)).ConfigureAwait(false);
        lock (_gate)
        {
            _sockets.Remove(client);
            _sockets.Remove(server);
        }

        client.Dispose();
        server.Dispose();
    }

    private async Task PumpAsync(Socket from, Socket to, RelayedConnection connection)
    {
        var buffer = new byte[16 * 1024];
        bool fromClient = from == connection.Client;
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                await Flowing().WaitAsync(_stopping.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (fromClient)
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

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
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
