using System.Net;
using System.Net.Sockets;

namespace Anshimi.Ble.Simulation;

/// <summary>
/// The cross-process simulated airspace: a UDP hub on loopback. Participants (<see cref="UdpAirspaceTransport"/>,
/// in any process) send it their hellos and advertising events; it forwards each advertisement to every other
/// participant that said it is scanning, applying the same loss rules as <see cref="SimulatedAirspace"/>.
/// A participant silent for <see cref="ParticipantTimeout"/> is forgotten. Malformed datagrams are counted and dropped.
/// </summary>
public sealed class AirspaceHub : IAsyncDisposable
{
    public static readonly TimeSpan ParticipantTimeout = TimeSpan.FromSeconds(15);

    private readonly Socket _socket;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<EndPoint, Participant> _participants = [];
    private readonly List<AirspaceRule> _rules = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _forwarded;
    private long _dropped;
    private long _malformed;

    private AirspaceHub(Socket socket, TimeProvider time)
    {
        _socket = socket;
        _time = time;
        EndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _loop = Task.Run(() => ReceiveLoopAsync(_stop.Token));
    }

    public IPEndPoint EndPoint { get; }

    public long Forwarded => Interlocked.Read(ref _forwarded);

    public long Dropped => Interlocked.Read(ref _dropped);

    public long Malformed => Interlocked.Read(ref _malformed);

    public int ParticipantCount
    {
        get
        {
            lock (_lock)
            {
                return _participants.Count;
            }
        }
    }

    /// <summary>Binds the hub to <paramref name="endPoint"/> (port 0: any free port) and starts forwarding.</summary>
    public static AirspaceHub Start(IPEndPoint endPoint, TimeProvider time)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(endPoint);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new BleTransportException("simulated airspace hub cannot listen on " + endPoint + ": " + ex.Message, ex);
        }

        return new AirspaceHub(socket, time);
    }

    public void AddRule(AirspaceRule rule)
    {
        lock (_lock)
        {
            _rules.Add(rule);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[512];
        EndPoint any = new IPEndPoint(EndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!cancellationToken.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, cancellationToken);
            }
            catch (SocketException)
            {
                // A participant's port went away (ICMP unreachable surfaces here on Linux): keep serving the others.
                continue;
            }

            AirspaceDatagram? datagram = AirspaceDatagram.TryDecode(buffer.AsSpan(0, received.ReceivedBytes));
            if (datagram is null)
            {
                Interlocked.Increment(ref _malformed);
                continue;
            }

            foreach ((EndPoint to, byte[] bytes) in Route(received.RemoteEndPoint, datagram))
            {
                try
                {
                    await _socket.SendToAsync(bytes, SocketFlags.None, to, cancellationToken);
                    Interlocked.Increment(ref _forwarded);
                }
                catch (SocketException)
                {
                    // That participant is gone; it times out of the table.
                }
            }
        }
    }

    private List<(EndPoint To, byte[] Bytes)> Route(EndPoint from, AirspaceDatagram datagram)
    {
        DateTimeOffset now = _time.GetUtcNow();
        var sends = new List<(EndPoint, byte[])>();
        lock (_lock)
        {
            foreach (EndPoint stale in _participants.Where(p => now - p.Value.LastHeard > ParticipantTimeout).Select(p => p.Key).ToList())
            {
                _participants.Remove(stale);
            }

            switch (datagram.Kind)
            {
                case AirspaceDatagramKind.Goodbye:
                    _participants.Remove(from);
                    return sends;
                case AirspaceDatagramKind.Hello:
                    _participants[from] = new Participant(datagram.Address, datagram.IsScanning, now);
                    return sends;
            }

            if (_participants.TryGetValue(from, out Participant? sender))
            {
                sender.LastHeard = now;
            }

            byte[] bytes = datagram.Encode();
            foreach ((EndPoint to, Participant receiver) in _participants)
            {
                if (to.Equals(from) || !receiver.Scanning)
                {
                    continue;
                }

                if (_rules.Any(rule => rule.Drops(new AirspaceTransmission(datagram.Address, receiver.Address, datagram.Data, now))))
                {
                    Interlocked.Increment(ref _dropped);
                    continue;
                }

                sends.Add((to, bytes));
            }
        }

        return sends;
    }

    private sealed class Participant(BleAddress address, bool scanning, DateTimeOffset lastHeard)
    {
        public BleAddress Address { get; } = address;

        public bool Scanning { get; } = scanning;

        public DateTimeOffset LastHeard { get; set; } = lastHeard;
    }
}
