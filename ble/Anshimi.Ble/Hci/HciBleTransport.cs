using System.Globalization;

namespace Anshimi.Ble.Hci;

/// <summary>
/// The Raspberry Pi's own radio: LE scanning and non-connectable advertising over a raw HCI socket
/// (<see cref="HciSocket"/>). One command is in flight at a time; a reader thread parses events and
/// completes the command that waits for them. Construction fails with <see cref="BleTransportException"/>
/// naming the adapter when it does not exist or the socket cannot be opened.
/// </summary>
public sealed class HciBleTransport : IBleTransport
{
    public const string SysfsAdapters = "/sys/class/bluetooth";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(2);

    private readonly HciSocket _socket;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _commandGate = new(1, 1);
    private readonly Lock _stateLock = new();
    private readonly Thread _reader;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource<byte>? _pending;
    private ushort _pendingOpcode;
    private TimeSpan? _advertisingInterval;
    private bool _advertising;

    public HciBleTransport(string adapterName, TimeProvider time)
    {
        AdapterName = adapterName;
        _time = time;
        int deviceId = ParseAdapter(adapterName);
        if (!Directory.Exists(Path.Combine(SysfsAdapters, adapterName)))
        {
            throw new BleTransportException(
                "Bluetooth adapter '" + adapterName + "' not found (" + SysfsAdapters + "/" + adapterName + " does not exist); " +
                "check `ls " + SysfsAdapters + "`, or set Gateway:Ble:Transport to Airspace or None on a machine without a radio");
        }

        try
        {
            _socket = HciSocket.Open(deviceId);
        }
        catch (BleTransportException ex)
        {
            throw new BleTransportException("Bluetooth adapter '" + adapterName + "' could not be opened: " + ex.Message, ex);
        }

        State = BleTransportState.Ready;
        StateReason = "open on " + adapterName;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "hci-reader-" + adapterName };
        _reader.Start();
    }

    public event EventHandler<BleAdvertisementReport>? AdvertisementReceived;

    public event EventHandler<BleTransportStateChangedEventArgs>? StateChanged;

    public string AdapterName { get; }

    public BleTransportState State { get; private set; }

    public string StateReason { get; private set; }

    public async Task StartScanningAsync(BleScanParameters parameters, CancellationToken cancellationToken)
    {
        // Scan parameters cannot change while scanning: stop first (the controller answers "disallowed" when idle, which is fine).
        await SendAsync(HciCommands.SetScanEnable(false), cancellationToken, tolerateDisallowed: true);
        await SendAsync(HciCommands.SetScanParameters(parameters.Interval, parameters.Window), cancellationToken);
        await SendAsync(HciCommands.SetScanEnable(true), cancellationToken);
    }

    public Task StopScanningAsync(CancellationToken cancellationToken) =>
        SendAsync(HciCommands.SetScanEnable(false), cancellationToken, tolerateDisallowed: true);

    public async Task SetAdvertisingAsync(ReadOnlyMemory<byte> data, TimeSpan interval, CancellationToken cancellationToken)
    {
        // Parameters may change only while advertising is off; data may change at any time.
        if (_advertisingInterval != interval)
        {
            if (_advertising)
            {
                await SendAsync(HciCommands.SetAdvertisingEnable(false), cancellationToken);
                _advertising = false;
            }

            await SendAsync(HciCommands.SetAdvertisingParameters(interval), cancellationToken);
            _advertisingInterval = interval;
        }

        await SendAsync(HciCommands.SetAdvertisingData(data.Span), cancellationToken);
        if (!_advertising)
        {
            await SendAsync(HciCommands.SetAdvertisingEnable(true), cancellationToken);
            _advertising = true;
        }
    }

    public async Task ClearAdvertisingAsync(CancellationToken cancellationToken)
    {
        if (_advertising)
        {
            await SendAsync(HciCommands.SetAdvertisingEnable(false), cancellationToken);
            _advertising = false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (State == BleTransportState.Closed)
        {
            return;
        }

        try
        {
            using var stopping = new CancellationTokenSource(CommandTimeout);
            await ClearAdvertisingAsync(stopping.Token);
            await StopScanningAsync(stopping.Token);
        }
        catch (Exception ex) when (ex is BleTransportException or OperationCanceledException)
        {
            // Closing anyway: the kernel stops nothing for us, but a failed radio has nothing left to stop.
        }

        await _stop.CancelAsync();
        _reader.Join(TimeSpan.FromSeconds(1));
        _socket.Dispose();
        _stop.Dispose();
        SetState(BleTransportState.Closed, "closed");
    }

    /// <summary>The adapter number of a name like <c>hci0</c>; throws <see cref="BleTransportException"/> for anything else.</summary>
    public static int ParseAdapter(string adapterName)
    {
        if (adapterName is null || !adapterName.StartsWith("hci", StringComparison.Ordinal) ||
            !int.TryParse(adapterName.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id > ushort.MaxValue)
        {
            throw new BleTransportException("Bluetooth adapter name must look like hci0, got '" + adapterName + "'");
        }

        return id;
    }

    private async Task SendAsync(byte[] packet, CancellationToken cancellationToken, bool tolerateDisallowed = false)
    {
        const byte CommandDisallowed = 0x0C;
        await _commandGate.WaitAsync(cancellationToken);
        try
        {
            var answer = new TaskCompletionSource<byte>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_stateLock)
            {
                _pending = answer;
                _pendingOpcode = HciCommands.OpcodeOf(packet);
            }

            _socket.Write(packet);
            byte status;
            try
            {
                status = await answer.Task.WaitAsync(CommandTimeout, _time, cancellationToken);
            }
            catch (TimeoutException ex)
            {
                throw new BleTransportException("HCI command 0x" + _pendingOpcode.ToString("X4", CultureInfo.InvariantCulture) + " got no answer from " + AdapterName, ex);
            }

            if (status != 0 && !(tolerateDisallowed && status == CommandDisallowed))
            {
                throw new BleTransportException("HCI command 0x" + HciCommands.OpcodeOf(packet).ToString("X4", CultureInfo.InvariantCulture) +
                    " refused by " + AdapterName + " with status 0x" + status.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        catch (BleTransportException ex) when (State == BleTransportState.Ready)
        {
            SetState(BleTransportState.Failed, ex.Message);
            throw;
        }
        finally
        {
            lock (_stateLock)
            {
                _pending = null;
            }

            _commandGate.Release();
        }
    }

    private void ReadLoop()
    {
        var buffer = new byte[3 + 255];
        while (!_stop.IsCancellationRequested)
        {
            int length;
            try
            {
                length = _socket.Read(buffer, 200);
            }
            catch (BleTransportException ex)
            {
                SetState(BleTransportState.Failed, ex.Message);
                return;
            }

            if (length > 0)
            {
                Dispatch(HciEvents.Parse(buffer.AsSpan(0, length)));
            }
        }
    }

    private void Dispatch(HciEvent? hciEvent)
    {
        switch (hciEvent)
        {
            case HciCommandResult result:
                lock (_stateLock)
                {
                    if (_pending is not null && result.Opcode == _pendingOpcode)
                    {
                        _pending.TrySetResult(result.Status);
                    }
                }

                break;
            case HciAdvertisingReports reports:
                DateTimeOffset now = _time.GetUtcNow();
                foreach (HciAdvertisingReport report in reports.Reports)
                {
                    AdvertisementReceived?.Invoke(this, new BleAdvertisementReport(report.Address, report.Rssi, report.Data, now));
                }

                break;
        }
    }

    private void SetState(BleTransportState state, string reason)
    {
        State = state;
        StateReason = reason;
        StateChanged?.Invoke(this, new BleTransportStateChangedEventArgs(state, reason));
    }
}
