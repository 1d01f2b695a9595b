using System.Collections.Immutable;
using MQTTnet;

namespace Anshimi.Mqtt;

/// <summary>
/// The one MQTT session layer every host uses. It owns the connection (first connect, then reconnects
/// with <see cref="ReconnectBackoff"/> for the session's lifetime), the subscriptions (subscribed on
/// every connect for which the broker kept no session) and routing: each message goes to the handler
/// of every registered filter it matches; a message matching none is counted and dropped. Consumers
/// register handlers and publish; they never reconnect or resubscribe themselves. Given several brokers of
/// one cluster (<see cref="MqttClientOptions.Endpoints"/>), it moves to the next when its broker is lost or
/// cannot be reached.
/// </summary>
public sealed class MqttSession : IAsyncDisposable
{
    private readonly IMqttTransport _transport;
    private readonly MqttClientOptions _options;
    private readonly ReconnectBackoff _backoff;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<MqttEndpoint> _endpoints;
    private readonly Action<string>? _diagnostics;
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _inFlight = [];

    private ImmutableArray<Subscription> _subscriptions = [];
    private MqttConnectionState _state = MqttConnectionState.Disconnected;
    private string _stateReason = "not connected";
    private bool _established;
    private int _endpointIndex;
    private bool _lastAttemptFailed;
    private string? _lostWhileConnecting;
    private Task _reconnecting = Task.CompletedTask;
    private long _unmatchedMessages;
    private long _failedMessages;
    private int _closed;

    public MqttSession(IMqttTransport transport, MqttClientOptions options, Action<string>? diagnostics = null, Random? random = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _endpoints = Validate(options);
        _transport = transport;
        _options = options;
        _time = time ?? TimeProvider.System;
        _backoff = new ReconnectBackoff(options.Reconnect, random, _time);
        _diagnostics = diagnostics;
        _transport.MessageReceived = DispatchAsync;
        _transport.ConnectionLost += OnConnectionLost;
    }

    /// <summary>Raised on every change of <see cref="State"/> or its reason. Handlers must be quick.</summary>
    public event EventHandler<MqttStateChangedEventArgs>? StateChanged;

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

    /// <summary>Why the session is in its current <see cref="State"/>, e.g. "connection refused: not authorised".</summary>
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

    public bool IsConnected => State == MqttConnectionState.Connected;

    /// <summary>Messages that matched no registered filter and were dropped.</summary>
    public long UnmatchedMessages => Interlocked.Read(ref _unmatchedMessages);

    /// <summary>Messages whose handler threw; they are acknowledged anyway, and the exception goes to the diagnostics sink.</summary>
    public long FailedMessages => Interlocked.Read(ref _failedMessages);

    /// <summary>Messages <see cref="StartPublish"/> handed to the connection whose PUBACK (or failure) has not come yet.</summary>
    public int PublishesInFlight
    {
        get
        {
            lock (_inFlight)
            {
                return _inFlight.Count;
            }
        }
    }

    /// <summary>The broker the session is on, or tries next.</summary>
    public string Endpoint => CurrentEndpoint.ToString();

    /// <summary>Every broker the session may use, in the order it tries them.</summary>
    public IReadOnlyList<MqttEndpoint> Endpoints => _endpoints;

    private MqttEndpoint CurrentEndpoint => _endpoints[Volatile.Read(ref _endpointIndex)];

    /// <summary>A session over MQTTnet.</summary>
    public static MqttSession Create(MqttClientOptions options, Action<string>? diagnostics = null) =>
        new(new MqttNetTransport(options), options, diagnostics);

    /// <summary>
    /// Routes messages matching <paramref name="topicFilter"/> to <paramref name="handler"/>. Registered
    /// before the session reports Connected (also while a connect attempt is under way), the filter is
    /// subscribed before it does; registered later, it is subscribed in the background, asked again with the
    /// reconnect backoff while the connection lasts and no SUBACK comes (failures go to the diagnostics sink).
    /// </summary>
    public void AddSubscription(string topicFilter, MqttQos qos, MqttSubscriptionHandler handler)
    {
        Subscription subscription = Register(topicFilter, qos, handler, out _);
        if (IsConnected)
        {
            _ = Task.Run(() => SubscribeUntilAnsweredAsync(subscription));
        }
    }

    /// <summary>
    /// Like <see cref="AddSubscription"/>, but when connected waits for the broker's SUBACK and throws
    /// <see cref="MqttSubscriptionRefusedException"/> if it refuses, or <see cref="MqttTransportException"/> if the
    /// connection ends first; either way nothing stays registered.
    /// </summary>
    public async Task SubscribeAsync(string topicFilter, MqttQos qos, MqttSubscriptionHandler handler, CancellationToken cancellationToken)
    {
        Subscription subscription = Register(topicFilter, qos, handler, out bool added);
        if (!IsConnected)
        {
            return;
        }

        try
        {
            await SubscribeAsync(subscription, cancellationToken).ConfigureAwait(false);
        }
        catch (MqttTransportException)
        {
            // Refused, or the connection closed instead of a SUBACK (RabbitMQ's refusal): kept, the filter
            // would be subscribed again on every reconnect and could fail each one. Only a registration this call
            // made, and nobody has had acknowledged since: a caller retrying after a timed-out wait shares the
            // earlier call's registration, and the earlier call failing late must not take away its route.
            lock (_gate)
            {
                if (added && !subscription.Acknowledged)
                {
                    _subscriptions = _subscriptions.Remove(subscription);
                }
            }

            throw;
        }
    }

    /// <summary>
    /// Connects, retrying with the reconnect backoff until <see cref="MqttClientOptions.ConnectTimeout"/>.
    /// From then on the session reconnects by itself. Throws <see cref="MqttConnectionRefusedException"/> at
    /// once when the broker refuses, <see cref="MqttConnectTimeoutException"/> when the time is up; either
    /// way the session is left Disconnected and this may be called again.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            bool established;
            lock (_gate)
            {
                established = _established;
            }

            // Once connected, the session reconnects by itself: wait for that instead of racing it.
            await (established ? WaitUntilConnectedAsync(cancellationToken) : FirstConnectAsync(cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>QoS 0 completes once sent, QoS 1 on PUBACK. Throws <see cref="MqttNotConnectedException"/> while not connected: the caller's outbox decides what to keep.</summary>
    public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ValidateQos(qos);
        lock (_gate)
        {
            if (_closed != 0)
            {
                throw new MqttNotConnectedException("the session is closed");
            }

            if (_state != MqttConnectionState.Connected)
            {
                throw new MqttNotConnectedException($"not connected ({_stateReason})");
            }
        }

        return _transport.PublishAsync(topic, payload, qos, retain, cancellationToken);
    }

    /// <summary>
    /// Publishes without holding the caller for the PUBACK. The message is handed to the connection before this returns,
    /// so messages started one after another go on the wire in that order (MQTTnet gives each its own packet id and
    /// writes packets one at a time, in turn) and many QoS 1 messages can be in flight at once, each PUBACK matched by
    /// its packet id. The returned task completes when the broker has answered and never throws: null on PUBACK (QoS 0:
    /// once written), otherwise the <see cref="MqttTransportException"/> <see cref="PublishAsync"/> would have thrown —
    /// not connected, the connection lost before the PUBACK (the message may still have been delivered), no PUBACK
    /// within <see cref="MqttClientOptions.CommunicationTimeout"/> or before <paramref name="cancellationToken"/>, or
    /// refused. Nothing is re-sent: the caller's own outbox or its peer's decides that. Closing the session first waits
    /// for the messages still in flight.
    /// </summary>
    public Task<MqttTransportException?> StartPublish(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken)
    {
        Task publish;
        try
        {
            publish = PublishAsync(topic, payload, qos, retain, cancellationToken);
        }
        catch (MqttTransportException ex)
        {
            return Task.FromResult<MqttTransportException?>(ex);
        }

        Task<MqttTransportException?> answered = AnsweredAsync(publish, topic);
        if (!answered.IsCompleted)
        {
            lock (_inFlight)
            {
                _inFlight.Add(answered);
            }

            answered.ContinueWith(
                (done, state) =>
                {
                    var inFlight = (HashSet<Task>)state!;
                    lock (inFlight)
                    {
                        inFlight.Remove(done);
                    }
                },
                _inFlight, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return answered;
    }

    /// <summary>Sends DISCONNECT (the broker drops the last will), stops reconnecting and leaves the session Closed for good.</summary>
    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        try
        {
            await _reconnecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The loop ends by cancellation.
        }

        // Messages already handed over get their PUBACKs before DISCONNECT ends the connection under them.
        Task[] inFlight;
        lock (_inFlight)
        {
            inFlight = [.. _inFlight];
        }

        await Task.WhenAll(inFlight).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        try
        {
            await _transport.DisconnectAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            SetState(MqttConnectionState.Closed, "disconnected by client", force: true);
        }
    }

    /// <summary>Disconnects like <see cref="DisconnectAsync"/> (within a few seconds) and frees the transport. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try
            {
                await DisconnectAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException)
            {
                // Closing anyway; without DISCONNECT the broker publishes the will.
            }
        }

        _transport.ConnectionLost -= OnConnectionLost;
        await _transport.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task<MqttTransportException?> AnsweredAsync(Task publish, string topic)
    {
        try
        {
            await publish.ConfigureAwait(false);
            return null;
        }
        catch (MqttTransportException ex)
        {
            return ex;
        }
        catch (OperationCanceledException ex)
        {
            return new MqttTimeoutException($"publish to '{topic}': no PUBACK before the caller stopped waiting", ex);
        }
    }

    private static IReadOnlyList<MqttEndpoint> Validate(MqttClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<MqttEndpoint> endpoints;
        if (options.Endpoints.Count == 0)
        {
            ArgumentException.ThrowIfNullOrEmpty(options.Host, nameof(options.Host));
            if (options.Port is < 1 or > 65535)
            {
                throw new ArgumentOutOfRangeException(nameof(options), options.Port, "Port must be 1..65535.");
            }
        }

        try
        {
            endpoints = options.EndpointList();
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"Mqtt:Endpoints: {ex.Message}", nameof(options), ex);
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.KeepAliveSeconds, 5, nameof(options.KeepAliveSeconds));
        if (options.ConnectTimeout <= TimeSpan.Zero && options.ConnectTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ConnectTimeout, "ConnectTimeout must be positive or infinite.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.CommunicationTimeout, TimeSpan.Zero, nameof(options.CommunicationTimeout));
        ArgumentNullException.ThrowIfNull(options.Reconnect, nameof(options.Reconnect));

        if (!options.CleanSession && string.IsNullOrEmpty(options.ClientId))
        {
            throw new ArgumentException("A persistent session (CleanSession = false) needs a ClientId.", nameof(options));
        }

        return endpoints;
    }

    private static void ValidateQos(MqttQos qos)
    {
        if (qos is not (MqttQos.AtMostOnce or MqttQos.AtLeastOnce))
        {
            throw new ArgumentOutOfRangeException(nameof(qos), qos, "Only QoS 0 and 1 are supported.");
        }
    }

    private Subscription Register(string topicFilter, MqttQos qos, MqttSubscriptionHandler handler, out bool added)
    {
        ArgumentException.ThrowIfNullOrEmpty(topicFilter);
        ArgumentNullException.ThrowIfNull(handler);
        ValidateQos(qos);
        if (!IsValidFilter(topicFilter))
        {
            throw new ArgumentException($"'{topicFilter}' is not a valid MQTT topic filter.", nameof(topicFilter));
        }

        lock (_gate)
        {
            // Registering the same handler for the same filter again (a device re-subscribing after a
            // reconnect) must not deliver each message twice.
            foreach (Subscription existing in _subscriptions)
            {
                if (existing.TopicFilter == topicFilter && existing.Handler.Equals(handler))
                {
                    added = false;
                    return existing;
                }
            }

            added = true;
            var subscription = new Subscription(topicFilter, qos, handler);
            _subscriptions = _subscriptions.Add(subscription);
            return subscription;
        }
    }

    /// <summary>MQTT 3.1.1 §4.7.1: a wildcard fills a whole level, and '#' only the last one.</summary>
    private static bool IsValidFilter(string topicFilter)
    {
        string[] levels = topicFilter.Split('/');
        for (int i = 0; i < levels.Length; i++)
        {
            string level = levels[i];
            if ((level.Contains('#') && (level != "#" || i != levels.Length - 1)) || (level.Contains('+') && level != "+") || level.Contains('\0'))
            {
                return false;
            }
        }

        return true;
    }

    private async Task SubscribeAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        await _transport.SubscribeAsync(subscription.TopicFilter, subscription.Qos, cancellationToken).ConfigureAwait(false);
        subscription.Acknowledged = true;
    }

    /// <summary>
    /// A filter registered on a live connection. A SUBACK that does not come (a loaded broker or host) is asked for again
    /// while the connection lasts: otherwise the route would stay without a subscription at the broker until some
    /// reconnect. A lost connection ends this; the reconnect subscribes it. A refusal waits for the next connect too.
    /// </summary>
    private async Task SubscribeUntilAnsweredAsync(Subscription subscription)
    {
        var backoff = new ReconnectBackoff(_options.Reconnect, time: _time);
        CancellationToken closing = _closing.Token;
        while (true)
        {
            try
            {
                await SubscribeAsync(subscription, closing).ConfigureAwait(false);
                return;
            }
            catch (MqttTransportException ex) when (ex is not MqttSubscriptionRefusedException && IsConnected && !subscription.Acknowledged && Snapshot().Contains(subscription))
            {
                Report($"subscription to '{subscription.TopicFilter}' failed: {ex.Message}; asking again");
            }
            catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException)
            {
                Report($"subscription to '{subscription.TopicFilter}' failed: {ex.Message}");
                return;
            }

            try
            {
                await Task.Delay(backoff.NextDelay(), _time, closing).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task FirstConnectAsync(CancellationToken cancellationToken)
    {
        SetState(MqttConnectionState.Connecting, $"connecting to {Endpoint}");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
        deadline.CancelAfter(_options.ConnectTimeout);
        try
        {
            while (true)
            {
                if (_lastAttemptFailed)
                {
                    await Task.Delay(_backoff.NextDelay(), deadline.Token).ConfigureAwait(false);
                }

                try
                {
                    await AttemptAsync(deadline.Token).ConfigureAwait(false);
                    return;
                }
                catch (MqttConnectionRefusedException ex)
                {
                    SetState(MqttConnectionState.Disconnected, ex.Message);
                    throw;
                }
                catch (MqttTransportException ex)
                {
                    SetState(MqttConnectionState.Connecting, $"connect attempt failed: {ex.Message}; retrying");
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ThrowIfClosed();
            var timeout = new MqttConnectTimeoutException(
                $"connect to {Endpoint} timed out after {_options.ConnectTimeout.TotalSeconds:0.#} s ({StateReason})");
            SetState(MqttConnectionState.Disconnected, timeout.Message);
            throw timeout;
        }
        catch (OperationCanceledException)
        {
            SetState(MqttConnectionState.Disconnected, "connect cancelled");
            throw;
        }
    }

    /// <summary>One connect attempt, with the subscriptions the broker no longer holds; Connected is reported only once they are in place.</summary>
    private async Task AttemptAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _lostWhileConnecting = null;
        }

        _lastAttemptFailed = true;
        bool sessionPresent;
        try
        {
            sessionPresent = await _transport.ConnectAsync(CurrentEndpoint, cancellationToken).ConfigureAwait(false);
        }
        catch (MqttConnectionRefusedException ex) when (ex.Refusal == MqttConnectRefusal.ServerUnavailable && _endpoints.Count > 1)
        {
            // A node that cannot serve now (e.g. still joining its cluster); another one may.
            MoveToNextEndpoint(ex.Message);
            throw new MqttTransportException(ex.Message, ex);
        }
        catch (MqttConnectionRefusedException)
        {
            throw;
        }
        catch (MqttTransportException ex)
        {
            MoveToNextEndpoint(ex.Message);
            throw;
        }

        List<string> refused = [];
        HashSet<Subscription> handled = [];
        EventHandler<MqttStateChangedEventArgs>? connected;
        string reason;
        try
        {
            while (true)
            {
                List<Subscription> pending;
                lock (_gate)
                {
                    if (_lostWhileConnecting is { } lost)
                    {
                        throw new MqttTransportException("connection lost while connecting: " + lost);
                    }

                    // A filter registered while this attempt subscribes saw the session not Connected and left its
                    // subscription to the attempt: Connected is set in the same lock as the last look for such filters.
                    pending = [.. _subscriptions.Where(s => !handled.Contains(s))];
                    if (pending.Count == 0)
                    {
                        _established = true;
                        _lastAttemptFailed = false;
                        _backoff.Connected();
                        reason = refused.Count == 0 ? "connected" : $"connected; subscription refused: {string.Join(", ", refused)}";
                        connected = ChangeState(MqttConnectionState.Connected, reason, force: false);
                        break;
                    }
                }

                foreach (Subscription subscription in pending)
                {
                    handled.Add(subscription);

                    // Mosquitto 2.0 restores a persisted session without its shared subscriptions, yet says it is present.
                    if (sessionPresent && subscription.Acknowledged && !SharedSubscription.IsShared(subscription.TopicFilter))
                    {
                        continue;
                    }

                    try
                    {
                        await SubscribeAsync(subscription, cancellationToken).ConfigureAwait(false);
                    }
                    catch (MqttSubscriptionRefusedException ex)
                    {
                        refused.Add(subscription.TopicFilter);
                        Report(ex.Message);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException)
        {
            // Half set up: drop the connection, so the next attempt starts from a clean one.
            await DropQuietlyAsync().ConfigureAwait(false);
            if (ex is MqttTransportException)
            {
                MoveToNextEndpoint(ex.Message);
            }

            throw;
        }

        Raise(connected, MqttConnectionState.Connected, reason);
    }

    private async Task DropQuietlyAsync()
    {
        using var timeout = new CancellationTokenSource(_options.CommunicationTimeout);
        try
        {
            await _transport.DisconnectAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException)
        {
            // Already gone.
        }
    }

    private async Task WaitUntilConnectedAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.ConnectTimeout);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnState(object? sender, MqttStateChangedEventArgs e)
        {
            if (e.State == MqttConnectionState.Connected)
            {
                connected.TrySetResult();
            }
        }

        StateChanged += OnState;
        try
        {
            if (IsConnected)
            {
                return;
            }

            await connected.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MqttConnectTimeoutException($"reconnect to {Endpoint} did not succeed within {_options.ConnectTimeout.TotalSeconds:0.#} s ({StateReason})");
        }
        finally
        {
            StateChanged -= OnState;
        }
    }

    private void OnConnectionLost(object? sender, string cause)
    {
        lock (_gate)
        {
            if (_closed != 0)
            {
                return;
            }

            if (!_established || _state != MqttConnectionState.Connected)
            {
                _lostWhileConnecting = cause;
                return;
            }

            _reconnecting = Task.Run(ReconnectLoopAsync);
        }

        MoveToNextEndpoint(cause);

        SetState(MqttConnectionState.Reconnecting, "connection lost: " + cause);
    }

    private async Task ReconnectLoopAsync()
    {
        CancellationToken closing = _closing.Token;
        while (!closing.IsCancellationRequested)
        {
            await Task.Delay(_backoff.NextDelay(), closing).ConfigureAwait(false);
            try
            {
                await AttemptAsync(closing).ConfigureAwait(false);
                return;
            }
            catch (MqttConnectionRefusedException ex)
            {
                SetState(MqttConnectionState.Reconnecting, ex.Message);
            }
            catch (MqttTransportException ex)
            {
                SetState(MqttConnectionState.Reconnecting, "reconnect attempt failed: " + ex.Message);
            }
        }
    }

    /// <summary>With several brokers, the next attempt goes to the next one in the list, wrapping around.</summary>
    private void MoveToNextEndpoint(string cause)
    {
        if (_endpoints.Count < 2)
        {
            return;
        }

        MqttEndpoint from;
        MqttEndpoint to;
        lock (_gate)
        {
            from = _endpoints[_endpointIndex];
            _endpointIndex = (_endpointIndex + 1) % _endpoints.Count;
            to = _endpoints[_endpointIndex];
        }

        Report($"leaving {from} ({cause}); next attempt on {to}");
    }

    private ImmutableArray<Subscription> Snapshot()
    {
        lock (_gate)
        {
            return _subscriptions;
        }
    }

    private async Task DispatchAsync(MqttMessage message)
    {
        bool matched = false;
        foreach (Subscription subscription in Snapshot())
        {
            if (MqttTopicFilterComparer.Compare(message.Topic, subscription.MatchedFilter) != MqttTopicFilterCompareResult.IsMatch)
            {
                continue;
            }

            matched = true;
            try
            {
                await subscription.Handler(message, _closing.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _failedMessages);
                Report($"handler for '{subscription.TopicFilter}' failed on '{message.Topic}': {ex}");
            }
        }

        if (!matched)
        {
            Interlocked.Increment(ref _unmatchedMessages);
            Report($"message on '{message.Topic}' matches no subscription; dropped");
        }
    }

    private void ThrowIfClosed()
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            throw new MqttNotConnectedException("the session is closed");
        }
    }

    private void SetState(MqttConnectionState state, string reason, bool force = false)
    {
        EventHandler<MqttStateChangedEventArgs>? handler;
        lock (_gate)
        {
            handler = ChangeState(state, reason, force);
        }

        Raise(handler, state, reason);
    }

    /// <summary>Under <see cref="_gate"/>: changes the state and returns the handlers to tell outside the lock (null: none, or nothing changed).</summary>
    private EventHandler<MqttStateChangedEventArgs>? ChangeState(MqttConnectionState state, string reason, bool force)
    {
        // Closed is final; late reports from a failing attempt must not reopen it.
        if ((_state == MqttConnectionState.Closed || (_closed != 0 && !force)) || (_state == state && _stateReason == reason))
        {
            return null;
        }

        _state = state;
        _stateReason = reason;
        return StateChanged;
    }

    private void Raise(EventHandler<MqttStateChangedEventArgs>? handler, MqttConnectionState state, string reason)
    {
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
            // A failing diagnostics sink must not take the session down with it.
        }
    }

    private sealed class Subscription(string topicFilter, MqttQos qos, MqttSubscriptionHandler handler)
    {
        public string TopicFilter { get; } = topicFilter;

        /// <summary>What the topics of its messages match: a shared subscription's filter without "$share/group/".</summary>
        public string MatchedFilter { get; } = SharedSubscription.TopicFilterOf(topicFilter);

        public MqttQos Qos { get; } = qos;

        public MqttSubscriptionHandler Handler { get; } = handler;

        /// <summary>The broker granted it on this session; a kept session still holds it after a reconnect.</summary>
        public volatile bool Acknowledged;
    }
}
