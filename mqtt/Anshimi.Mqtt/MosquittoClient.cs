using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Anshimi.Mqtt.Native;

namespace Anshimi.Mqtt;

/// <summary>
/// <see cref="IMqttClient"/> over libmosquitto. libmosquitto's own network thread does the I/O,
/// keepalive, QoS 1 retries and reconnects (exponential backoff between
/// <see cref="MqttClientOptions.ReconnectDelayMin"/> and <see cref="MqttClientOptions.ReconnectDelayMax"/>).
/// </summary>
/// <remarks>
/// Events run on that network thread. <see cref="Dispose"/> joins it, so it must not be called from an
/// event handler (it throws there); <see cref="DisposeAsync"/> and <see cref="DisconnectAsync"/> are safe
/// anywhere. Closing waits for the network thread to notice, which takes up to
/// <see cref="MqttClientOptions.ReconnectDelayMax"/> while it sleeps between reconnect attempts.
/// </remarks>
public sealed class MosquittoClient : IMqttClient, IDisposable
{
    [ThreadStatic]
    private static bool t_inCallback;

    private readonly string _host;
    private readonly int _port;
    private readonly int _keepAliveSeconds;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _retryDelayMin;
    private readonly TimeSpan _retryDelayMax;
    private readonly Action<string>? _diagnostics;

    // Guards all fields below and every call that touches the native handle; never held while
    // joining the network thread or while running user event handlers.
    private readonly Lock _gate = new();

    // Serialises closing, which joins the network thread.
    private readonly Lock _closeGate = new();

    private readonly Dictionary<int, TaskCompletionSource> _pendingPublishes = [];
    private readonly Dictionary<int, PendingSubscription> _pendingSubscriptions = [];

    // Filters to restore when the broker reports that it no longer holds our session.
    private readonly Dictionary<string, MqttQos> _subscriptions = new(StringComparer.Ordinal);

    private GCHandle _self;
    private nint _mosq;
    private TaskCompletionSource? _connectAttempt;
    private bool _loopRunning;
    private bool _closed;
    private bool _disposed;
    private MqttConnectionState _state = MqttConnectionState.Disconnected;
    private string _stateReason = "not connected";

    private MosquittoClient(MqttClientOptions options, Action<string>? diagnostics)
    {
        _host = options.Host;
        _port = options.Port;
        _keepAliveSeconds = options.KeepAliveSeconds;
        _connectTimeout = options.ConnectTimeout;
        _retryDelayMin = options.ReconnectDelayMin;
        _retryDelayMax = options.ReconnectDelayMax;
        _diagnostics = diagnostics;
    }

    public event EventHandler<MqttStateChangedEventArgs>? StateChanged;

    public event EventHandler<MqttMessageReceivedEventArgs>? MessageReceived;

    public MqttConnectionState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Why the client is in its current <see cref="State"/>, as last reported by <see cref="StateChanged"/>.</summary>
    public string StateReason
    {
        get
        {
            lock (_gate)
            {
                return _stateReason;
            }
        }
    }

    /// <summary>
    /// Creates a client; nothing touches the network until <see cref="ConnectAsync"/>.
    /// <paramref name="diagnostics"/> receives libmosquitto warnings and errors and exceptions thrown by event handlers.
    /// </summary>
    public static MosquittoClient Create(MqttClientOptions options, Action<string>? diagnostics = null)
    {
        Validate(options);
        LibMosquitto.EnsureInitialized();

        var client = new MosquittoClient(options, diagnostics);
        client._self = GCHandle.Alloc(client);
        try
        {
            client.CreateNative(options);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        return client;
    }

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var attempt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            ThrowIfClosed();
            if (_state == MqttConnectionState.Connected)
            {
                return;
            }

            if (_connectAttempt is not null || _loopRunning)
            {
                throw new InvalidOperationException($"The client is already {_state}; it reconnects by itself.");
            }

            _connectAttempt = attempt;
        }

        SetState(MqttConnectionState.Connecting, $"connecting to {_host}:{_port}");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_connectTimeout);
        try
        {
            await StartNetworkLoopAsync(deadline.Token).ConfigureAwait(false);
            await attempt.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MqttException or OperationCanceledException)
        {
            // The network thread must stop retrying: a refused or abandoned connect leaves the client Disconnected.
            await Task.Run(StopNetworkLoop, CancellationToken.None).ConfigureAwait(false);
            string lastReason;
            lock (_gate)
            {
                _connectAttempt = null;
                lastReason = _stateReason;
            }

            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var timeout = new MqttException(
                    $"connect to {_host}:{_port} timed out after {_connectTimeout.TotalSeconds:0.#} s ({lastReason})", ex);
                SetState(MqttConnectionState.Disconnected, timeout.Message);
                throw timeout;
            }

            SetState(MqttConnectionState.Disconnected, ex is MqttException ? ex.Message : "connect cancelled");
            throw;
        }
    }

    public async Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ValidateQos(qos);
        cancellationToken.ThrowIfCancellationRequested();

        var (mid, acknowledged) = StartPublish(topic, payload, qos, retain);
        if (acknowledged is not null)
        {
            await AwaitAcknowledgementAsync(acknowledged.Task, () => Forget(_pendingPublishes, mid, acknowledged), cancellationToken)
                .ConfigureAwait(false);
        }
    }

    public async Task SubscribeAsync(string topicFilter, MqttQos qos, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topicFilter);
        ValidateQos(qos);
        cancellationToken.ThrowIfCancellationRequested();

        var pending = new PendingSubscription(topicFilter, qos);
        var mid = StartSubscribe(pending);
        await AwaitAcknowledgementAsync(pending.Acknowledged.Task, () => Forget(_pendingSubscriptions, mid, pending), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Sends DISCONNECT (so the broker discards the last will), stops the network thread and leaves the
    /// client <see cref="MqttConnectionState.Closed"/>. Unacknowledged operations fail.
    /// </summary>
    public Task DisconnectAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.Run(() => Close("disconnected by client"), CancellationToken.None);
    }

    /// <summary>Disconnects like <see cref="DisconnectAsync"/> and frees the native client. Idempotent.</summary>
    public void Dispose()
    {
        if (t_inCallback)
        {
            throw new InvalidOperationException("Dispose cannot run on the MQTT network thread (inside an event handler); use DisposeAsync.");
        }

        Close("disposed");
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_mosq != 0)
            {
                LibMosquitto.Destroy(_mosq);
                _mosq = 0;
            }

            if (_self.IsAllocated)
            {
                _self.Free();
            }
        }
    }

    /// <summary>Disposes on the thread pool, so it is safe from event handlers too.</summary>
    public ValueTask DisposeAsync() => new(Task.Run(Dispose));

    private static void Validate(MqttClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Host, nameof(options.Host));
        if (options.Port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Port, "Port must be 1..65535.");
        }

        // libmosquitto rejects keepalives under 5 s at connect time; fail early instead.
        ArgumentOutOfRangeException.ThrowIfLessThan(options.KeepAliveSeconds, 5, nameof(options.KeepAliveSeconds));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ConnectTimeout, TimeSpan.Zero, nameof(options.ConnectTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReconnectDelayMax, options.ReconnectDelayMin, nameof(options.ReconnectDelayMax));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxInflightMessages, 1, nameof(options.MaxInflightMessages));
        if (!options.CleanSession && string.IsNullOrEmpty(options.ClientId))
        {
            throw new ArgumentException("A persistent session (CleanSession = false) needs a ClientId.", nameof(options));
        }
    }

    private static void ValidateQos(MqttQos qos)
    {
        if (qos is not (MqttQos.AtMostOnce or MqttQos.AtLeastOnce))
        {
            throw new ArgumentOutOfRangeException(nameof(qos), qos, "Only QoS 0 and 1 are supported.");
        }
    }

    private static uint WholeSeconds(TimeSpan delay) => (uint)Math.Max(1, Math.Ceiling(delay.TotalSeconds));

    private unsafe void CreateNative(MqttClientOptions options)
    {
        var clientId = string.IsNullOrEmpty(options.ClientId) ? null : options.ClientId;
        _mosq = LibMosquitto.New(clientId, options.CleanSession, GCHandle.ToIntPtr(_self));
        if (_mosq == 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new MqttException($"mosquitto_new failed: {Marshal.GetPInvokeErrorMessage(errno)}", LibMosquitto.ErrorErrno);
        }

        LibMosquitto.ThrowOnError(
            LibMosquitto.IntOption(_mosq, LibMosquitto.OptionProtocolVersion, LibMosquitto.ProtocolV311), "mosquitto_int_option(PROTOCOL_VERSION)");

        // Alarm traffic is small packets back to back (ack, then envelope): with Nagle on, the second
        // waits for the peer's delayed ACK, tens of milliseconds per hop.
        LibMosquitto.ThrowOnError(LibMosquitto.IntOption(_mosq, LibMosquitto.OptionTcpNoDelay, 1), "mosquitto_int_option(TCP_NODELAY)");
        if (options.Username is not null)
        {
            LibMosquitto.ThrowOnError(LibMosquitto.UsernamePasswordSet(_mosq, options.Username, options.Password), "mosquitto_username_pw_set");
        }

        if (options.LastWill is { } will)
        {
            fixed (byte* payload = will.Payload)
            {
                LibMosquitto.ThrowOnError(
                    LibMosquitto.WillSet(_mosq, will.Topic, will.Payload.Length, payload, (int)will.Qos, will.Retain), "mosquitto_will_set");
            }
        }

        if (options.TlsCaFile is not null)
        {
            LibMosquitto.ThrowOnError(LibMosquitto.TlsSet(_mosq, options.TlsCaFile, null, null, null, 0), "mosquitto_tls_set");
        }

        LibMosquitto.ThrowOnError(
            LibMosquitto.ReconnectDelaySet(_mosq, WholeSeconds(options.ReconnectDelayMin), WholeSeconds(options.ReconnectDelayMax), exponentialBackoff: true),
            "mosquitto_reconnect_delay_set");
        LibMosquitto.ThrowOnError(LibMosquitto.MaxInflightMessagesSet(_mosq, (uint)options.MaxInflightMessages), "mosquitto_max_inflight_messages_set");

        LibMosquitto.ConnectWithFlagsCallbackSet(_mosq, &OnConnect);
        LibMosquitto.DisconnectCallbackSet(_mosq, &OnDisconnect);
        LibMosquitto.PublishCallbackSet(_mosq, &OnPublish);
        LibMosquitto.SubscribeCallbackSet(_mosq, &OnSubscribe);
        LibMosquitto.MessageCallbackSet(_mosq, &OnMessage);
        if (_diagnostics is not null)
        {
            LibMosquitto.LogCallbackSet(_mosq, &OnLog);
        }
    }

    /// <summary>
    /// Starts the TCP connect and then libmosquitto's network thread. A connect that fails at once
    /// (broker not listening yet) is retried here, because libmosquitto's network thread only retries a connect that got under way.
    /// </summary>
    private async Task StartNetworkLoopAsync(CancellationToken cancellationToken)
    {
        var delay = _retryDelayMin;
        while (true)
        {
            int rc;
            int errno;
            lock (_gate)
            {
                ThrowIfClosed();
                rc = LibMosquitto.ConnectAsync(_mosq, _host, _port, _keepAliveSeconds);
                errno = Marshal.GetLastPInvokeError();
                if (rc == LibMosquitto.Success)
                {
                    LibMosquitto.ThrowOnError(LibMosquitto.LoopStart(_mosq), "mosquitto_loop_start");
                    _loopRunning = true;
                    return;
                }
            }

            if (rc != LibMosquitto.ErrorErrno)
            {
                LibMosquitto.ThrowOnError(rc, $"connect to {_host}:{_port}");
            }

            SetState(MqttConnectionState.Connecting, $"connect attempt failed: {LibMosquitto.Describe(rc, errno)}; retrying");
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _retryDelayMax.Ticks));
        }
    }

    /// <summary>Asks the network thread to disconnect and waits for it to exit. Blocks; never call with <see cref="_gate"/> held.</summary>
    private void StopNetworkLoop()
    {
        lock (_closeGate)
        {
            lock (_gate)
            {
                if (!_loopRunning)
                {
                    return;
                }

                _loopRunning = false;
                // Also sets libmosquitto's state to "disconnecting", which is what ends its reconnect loop.
                _ = LibMosquitto.Disconnect(_mosq);
            }

            // force: false; cancelling a thread that may be running managed code is not safe.
            _ = LibMosquitto.LoopStop(_mosq, force: false);
        }
    }

    private void Close(string reason)
    {
        lock (_closeGate)
        {
            TaskCompletionSource? attempt;
            lock (_gate)
            {
                if (_closed || _mosq == 0)
                {
                    return;
                }

                _closed = true;
                attempt = _connectAttempt;
                _connectAttempt = null;
            }

            StopNetworkLoop();
            attempt?.TrySetException(new MqttException("the client was closed while connecting"));
            FailPendingOperations(new MqttException($"the client was closed ({reason}) before the broker acknowledged"));
            SetState(MqttConnectionState.Closed, reason);
        }
    }

    private unsafe (int Mid, TaskCompletionSource? Acknowledged) StartPublish(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain)
    {
        using var pinned = payload.Pin();

        // Held across mosquitto_publish and the registration, so a PUBACK that races ahead of
        // mosquitto_publish returning still finds its completion source.
        lock (_gate)
        {
            ThrowIfClosed();
            int mid;
            var rc = LibMosquitto.Publish(_mosq, &mid, topic, payload.Length, (byte*)pinned.Pointer, (int)qos, retain);
            LibMosquitto.ThrowOnError(rc, $"publish to '{topic}'");
            if (qos == MqttQos.AtMostOnce)
            {
                return (mid, null);
            }

            var acknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _pendingPublishes[mid] = acknowledged;
            return (mid, acknowledged);
        }
    }

    private unsafe int StartSubscribe(PendingSubscription pending)
    {
        lock (_gate)
        {
            ThrowIfClosed();
            int mid;
            var rc = LibMosquitto.Subscribe(_mosq, &mid, pending.TopicFilter, (int)pending.Qos);
            LibMosquitto.ThrowOnError(rc, $"subscribe to '{pending.TopicFilter}'");
            _pendingSubscriptions[mid] = pending;
            return mid;
        }
    }

    /// <summary>
    /// Waits for the broker's acknowledgement. Cancelling only stops the wait: a QoS 1 message already
    /// handed to libmosquitto is still delivered (at least once) when the connection allows.
    /// </summary>
    private static async Task AwaitAcknowledgementAsync(Task acknowledged, Action forget, CancellationToken cancellationToken)
    {
        try
        {
            await acknowledged.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !acknowledged.IsCompleted)
        {
            forget();
            throw;
        }
    }

    private void Forget<T>(Dictionary<int, T> pending, int mid, T operation)
        where T : class
    {
        lock (_gate)
        {
            if (pending.TryGetValue(mid, out var current) && ReferenceEquals(current, operation))
            {
                pending.Remove(mid);
            }
        }
    }

    private void FailPendingOperations(MqttException error)
    {
        List<TaskCompletionSource> failed;
        lock (_gate)
        {
            failed = [.. _pendingPublishes.Values, .. _pendingSubscriptions.Values.Select(s => s.Acknowledged)];
            _pendingPublishes.Clear();
            _pendingSubscriptions.Clear();
        }

        foreach (var operation in failed)
        {
            operation.TrySetException(error);
        }
    }

    private void ThrowIfClosed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_closed)
        {
            throw new MqttException("the client is closed", LibMosquitto.ErrorNoConnection);
        }
    }

    private void SetState(MqttConnectionState state, string reason)
    {
        EventHandler<MqttStateChangedEventArgs>? handler;
        lock (_gate)
        {
            // Closed is final; late reports from a failing connect must not reopen it.
            if (_state == MqttConnectionState.Closed || (_state == state && _stateReason == reason))
            {
                return;
            }

            _state = state;
            _stateReason = reason;
            handler = StateChanged;
        }

        try
        {
            handler?.Invoke(this, new MqttStateChangedEventArgs(state, reason));
        }
        catch (Exception ex)
        {
            Report($"StateChanged handler threw: {ex}");
        }
    }

    private void Report(string message)
    {
        try
        {
            _diagnostics?.Invoke(message);
        }
        catch (Exception)
        {
            // A failing diagnostics sink must not take the network thread down with it.
        }
    }

    private unsafe void HandleConnect(int connackCode, int flags)
    {
        TaskCompletionSource? attempt;
        if (connackCode != 0)
        {
            var reason = RefusalReason(connackCode);
            lock (_gate)
            {
                attempt = _connectAttempt;
            }

            // A refused first connect belongs to ConnectAsync, which stops the retries and reports Disconnected.
            if (attempt is not null)
            {
                attempt.TrySetException(new MqttException(reason, connackCode));
            }
            else
            {
                SetState(MqttConnectionState.Reconnecting, reason);
            }

            return;
        }

        KeyValuePair<string, MqttQos>[] restore = [];
        lock (_gate)
        {
            attempt = _connectAttempt;
            _connectAttempt = null;
            if ((flags & LibMosquitto.ConnectFlagSessionPresent) == 0)
            {
                restore = [.. _subscriptions];
            }
        }

        SetState(MqttConnectionState.Connected, "connected");
        foreach (var (filter, qos) in restore)
        {
            var rc = LibMosquitto.Subscribe(_mosq, null, filter, (int)qos);
            if (rc != LibMosquitto.Success)
            {
                Report($"restoring subscription '{filter}' failed: {LibMosquitto.Describe(rc)}");
            }
        }

        attempt?.TrySetResult();
    }

    private static string RefusalReason(int connackCode)
    {
        const string prefix = "Connection Refused: ";
        var text = LibMosquitto.DescribeConnack(connackCode).TrimEnd('.');
        if (text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            text = text[prefix.Length..];
        }

        return $"connection refused: {text}";
    }

    private void HandleDisconnect(int rc, int errno)
    {
        // 0 is our own DISCONNECT; a refused CONNACK was already reported by HandleConnect.
        if (rc is LibMosquitto.Success or LibMosquitto.ErrorConnectionRefused)
        {
            return;
        }

        var cause = LibMosquitto.Describe(rc, errno);
        bool connecting;
        lock (_gate)
        {
            connecting = _connectAttempt is not null;
        }

        if (connecting)
        {
            SetState(MqttConnectionState.Connecting, $"connect attempt failed: {cause}; retrying");
        }
        else
        {
            SetState(MqttConnectionState.Reconnecting, $"connection lost: {cause}");
        }
    }

    private void HandlePublish(int mid)
    {
        TaskCompletionSource? acknowledged;
        lock (_gate)
        {
            // QoS 0 messages report here too; they have no entry.
            _pendingPublishes.Remove(mid, out acknowledged);
        }

        acknowledged?.TrySetResult();
    }

    private unsafe void HandleSubscribe(int mid, int grantedCount, int* grantedQos)
    {
        PendingSubscription? pending;
        lock (_gate)
        {
            // Restored subscriptions have no entry.
            if (!_pendingSubscriptions.Remove(mid, out pending))
            {
                return;
            }

            if (grantedCount > 0 && grantedQos[0] != LibMosquitto.SubscriptionFailure)
            {
                _subscriptions[pending.TopicFilter] = pending.Qos;
            }
        }

        if (grantedCount < 1 || grantedQos[0] == LibMosquitto.SubscriptionFailure)
        {
            pending.Acknowledged.TrySetException(new MqttException($"the broker refused the subscription to '{pending.TopicFilter}'"));
        }
        else
        {
            pending.Acknowledged.TrySetResult();
        }
    }

    private unsafe void HandleMessage(LibMosquitto.Message* message)
    {
        var handler = MessageReceived;
        if (handler is null)
        {
            return;
        }

        var topic = LibMosquitto.Utf8(message->Topic) ?? "";
        var payload = new ReadOnlySpan<byte>(message->Payload, message->PayloadLength).ToArray();
        var qos = message->Qos == 0 ? MqttQos.AtMostOnce : MqttQos.AtLeastOnce;
        handler(this, new MqttMessageReceivedEventArgs(topic, payload, qos, message->Retain != 0));
    }

    /// <summary>Resolves the client behind libmosquitto's user data and keeps every exception away from native code.</summary>
    private static void Dispatch<TArgs>(nint userData, TArgs args, Action<MosquittoClient, TArgs> handle)
    {
        if (GCHandle.FromIntPtr(userData).Target is not MosquittoClient client)
        {
            return;
        }

        t_inCallback = true;
        try
        {
            handle(client, args);
        }
        catch (Exception ex)
        {
            client.Report($"MQTT callback failed: {ex}");
        }
        finally
        {
            t_inCallback = false;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnConnect(nint mosq, nint userData, int connackCode, int flags) =>
        Dispatch(userData, (connackCode, flags), static (client, a) => client.HandleConnect(a.connackCode, a.flags));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnDisconnect(nint mosq, nint userData, int rc)
    {
        // Read errno before anything else can overwrite it; it explains MOSQ_ERR_ERRNO.
        var errno = Marshal.GetLastSystemError();
        Dispatch(userData, (rc, errno), static (client, a) => client.HandleDisconnect(a.rc, a.errno));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnPublish(nint mosq, nint userData, int mid) =>
        Dispatch(userData, mid, static (client, m) => client.HandlePublish(m));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnSubscribe(nint mosq, nint userData, int mid, int grantedCount, int* grantedQos) =>
        Dispatch(userData, (mid, grantedCount, (nint)grantedQos), static (client, a) => client.HandleSubscribe(a.mid, a.grantedCount, (int*)a.Item3));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnMessage(nint mosq, nint userData, LibMosquitto.Message* message) =>
        Dispatch(userData, (nint)message, static (client, m) => client.HandleMessage((LibMosquitto.Message*)m));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnLog(nint mosq, nint userData, int level, byte* text)
    {
        if ((level & (LibMosquitto.LogWarning | LibMosquitto.LogError)) != 0)
        {
            Dispatch(userData, LibMosquitto.Utf8(text), static (client, t) => client.Report($"libmosquitto: {t}"));
        }
    }

    private sealed class PendingSubscription(string topicFilter, MqttQos qos)
    {
        public string TopicFilter { get; } = topicFilter;

        public MqttQos Qos { get; } = qos;

        public TaskCompletionSource Acknowledged { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
