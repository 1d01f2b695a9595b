using System.Net;
using System.Net.Sockets;

namespace Anshimi.Ble.Simulation;

/// <summary>
/// A radio in the cross-process airspace of an <see cref="AirspaceHub"/>: advertising sends one datagram per
/// interval to the hub; scanning receives what the hub forwards. Usable from any process that can reach the
/// hub's UDP port (the gateway, the device simulator, tests).
/// </summary>
public sealed class UdpAirspaceTransport : IBleTransport
{
    /// <summary>How often a participant repeats its hello, well inside the hub's timeout.</summary>
    public static readonly TimeSpan HelloInterval = TimeSpan.FromSeconds(5);

    private readonly Socket _socket;
    private readonly IPEndPoint _hub;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly Task _receiving;
    private readonly Task _helloing;
    private CancellationTokenSource? _advertising;
    private Task _advertisingLoop = Task.CompletedTask;
    private volatile bool _scanning;

    public UdpAirspaceTransport(IPEndPoint hub, BleAddress address, TimeProvider time, int rssi = -60)
    {
        _hub = hub;
        _time = time;
        Address = address;
        Rssi = rssi;
        _socket = new Socket(hub.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.Bind(new IPEndPoint(hub.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0));
            _socket.Connect(hub);
        }
        catch (SocketException ex)
        {
            _socket.Dispose();
            throw new BleTransportException("cannot reach the simulated airspace hub at " + hub + ": " + ex.Message, ex);
        }

        StateReason = "joined the airspace hub at " + hub;
        _receiving = Task.Run(() => ReceiveLoopAsync(_stop.Token));
        _helloing = Task.Run(() => HelloLoopAsync(_stop.Token));
    }

    public event EventHandler<BleAdvertisementReport>? AdvertisementReceived;

    public event EventHandler<BleTransportStateChangedEventArgs>? StateChanged;

    /// <summary>The address the participant sends from; a device with a private address changes it (the hub knows it by its UDP endpoint).</summary>
    public BleAddress Address { get; set; }

    public int Rssi { get; }

    public BleTransportState State { get; private set; } = BleTransportState.Ready;

    public string StateReason { get; private set; }

    public async Task StartScanningAsync(BleScanParameters parameters, CancellationToken cancellationToken)
    {
        _scanning = true;
        await SendAsync(AirspaceDatagram.Hello(Address, scanning: true), cancellationToken);
    }

    public async Task StopScanningAsync(CancellationToken cancellationToken)
    {
        _scanning = false;
        await SendAsync(AirspaceDatagram.Hello(Address, scanning: false), cancellationToken);
    }

    public async Task SetAdvertisingAsync(ReadOnlyMemory<byte> data, TimeSpan interval, CancellationToken cancellationToken)
    {
        if (data.Length > Hci.HciCommands.MaxAdvertisingData)
        {
            throw new ArgumentOutOfRangeException(nameof(data), data.Length, "legacy advertising data is at most 31 bytes");
        }

        if (interval < Hci.HciCommands.MinAdvertisingInterval || interval > Hci.HciCommands.MaxAdvertisingInterval)
        {
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "outside the legacy advertising interval range 20 ms – 10.24 s");
        }

        await ClearAdvertisingAsync(cancellationToken);
        byte[] datagram = AirspaceDatagram.Advertisement(Address, Rssi, data.ToArray()).Encode();
        await SendRawAsync(datagram, cancellationToken);
        lock (_lock)
        {
            _advertising = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            CancellationToken token = _advertising.Token;
            _advertisingLoop = Task.Run(() => AdvertiseLoopAsync(datagram, interval, token), CancellationToken.None);
        }
    }

    public async Task ClearAdvertisingAsync(CancellationToken cancellationToken)
    {
        CancellationTokenSource? previous;
        Task loop;
        lock (_lock)
        {
            previous = _advertising;
            loop = _advertisingLoop;
            _advertising = null;
        }

        if (previous is not null)
        {
            await previous.CancelAsync();
            await loop.WaitAsync(cancellationToken);
            previous.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (State == BleTransportState.Closed)
        {
            return;
        }

        await ClearAdvertisingAsync(CancellationToken.None);
        try
        {
            await SendAsync(AirspaceDatagram.Goodbye(Address), CancellationToken.None);
        }
        catch (BleTransportException)
        {
            // The hub is gone; it would forget us anyway.
        }

        await _stop.CancelAsync();
        _socket.Dispose();
        await Task.WhenAll(_receiving, _helloing);
        _stop.Dispose();
        SetState(BleTransportState.Closed, "left the airspace hub");
    }

    private Task SendAsync(AirspaceDatagram datagram, CancellationToken cancellationToken) => SendRawAsync(datagram.Encode(), cancellationToken);

    private async Task SendRawAsync(byte[] datagram, CancellationToken cancellationToken)
    {
        try
        {
            await _socket.SendAsync(datagram, SocketFlags.None, cancellationToken);
        }
        catch (SocketException ex)
        {
            throw new BleTransportException("send to the airspace hub at " + _hub + " failed: " + ex.Message, ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new BleTransportException("transport " + Address + " is closed", ex);
        }
    }

    private async Task AdvertiseLoopAsync(byte[] datagram, TimeSpan interval, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(interval, _time, cancellationToken);
                await SendRawAsync(datagram, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Replaced or cleared.
        }
        catch (BleTransportException ex)
        {
            SetState(BleTransportState.Failed, ex.Message);
        }
    }

    private async Task HelloLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await SendAsync(AirspaceDatagram.Hello(Address, _scanning), cancellationToken);
                }
                catch (BleTransportException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Hub not up yet or restarting: the next hello tries again.
                }

                await Task.Delay(HelloInterval, _time, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Closing.
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[512];
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // Hub not listening (ICMP port unreachable): the hello loop keeps knocking.
                continue;
            }

            if (_scanning && AirspaceDatagram.TryDecode(buffer.AsSpan(0, length)) is { Kind: AirspaceDatagramKind.Advertisement } datagram)
            {
                AdvertisementReceived?.Invoke(this, new BleAdvertisementReport(datagram.Address, datagram.Rssi, datagram.Data, _time.GetUtcNow()));
            }
        }
    }

    private void SetState(BleTransportState state, string reason)
    {
        State = state;
        StateReason = reason;
        StateChanged?.Invoke(this, new BleTransportStateChangedEventArgs(state, reason));
    }
}
