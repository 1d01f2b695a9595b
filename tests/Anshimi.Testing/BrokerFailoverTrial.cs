using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Anshimi.Mqtt;

namespace Anshimi.Testing;

public sealed class BrokerFailoverTrialOptions
{
    /// <summary>Numbered messages the publisher sends, one at a time, each until its PUBACK.</summary>
    public int Messages { get; init; } = 300;

    public double MessagesPerSecond { get; init; } = 30;

    /// <summary>The node is SIGKILLed when this many messages have been due.</summary>
    public int KillAfter { get; init; } = 100;

    /// <summary>How long the killed node stays down before it is started again.</summary>
    public TimeSpan DownFor { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long one message may go without a PUBACK before the trial gives up on the cluster.</summary>
    public TimeSpan PublishDeadline { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>How long to wait, after the last PUBACK, for messages still on their way.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>What one run counted and timed; latencies in milliseconds from the moment each message was due.</summary>
public sealed record BrokerFailoverResult(
    string Engine,
    int KilledNode,
    int Sent,
    int Received,
    int Distinct,
    int Lost,
    int Duplicated,
    IReadOnlyList<int> LostNumbers,
    TimeSpan PublisherReconnect,
    TimeSpan SubscriberReconnect,
    TimeSpan NodeRestart,
    IReadOnlyList<double> SteadyLatencies,
    IReadOnlyList<double> LossLatencies,
    IReadOnlyList<double> AfterLatencies)
{
    public override string ToString()
    {
        string lost = LostNumbers.Count > 0 ? "; lost: " + string.Join(',', LostNumbers.Take(20)) : "";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{Engine}: node {KilledNode + 1} killed; sent {Sent}, received {Received} ({Distinct} distinct), lost {Lost}, duplicated {Duplicated}; reconnect publisher {PublisherReconnect.TotalMilliseconds:F0} ms, subscriber {SubscriberReconnect.TotalMilliseconds:F0} ms; node back after {NodeRestart.TotalSeconds:F1} s{lost}");
    }
}

/// <summary>
/// The broker failover trial: a publisher and a subscriber on the session layer, each with a persistent QoS 1
/// session and every node in its endpoint list, both on the node that is SIGKILLed while a stream of numbered
/// messages flows, then started again. Counts what was lost and duplicated, how long each client took to come
/// back on another node, and the publish→receive delay before, during and after the loss.
/// </summary>
public static class BrokerFailoverTrial
{
    public static async Task<BrokerFailoverResult> RunAsync(MqttCluster cluster, int node, BrokerFailoverTrialOptions options, Action<string>? diagnostics = null, CancellationToken cancellationToken = default)
    {
        string run = Guid.NewGuid().ToString("N")[..8];
        string topic = $"anshimi/trial/{run}";
        var clock = Stopwatch.StartNew();
        var due = new double[options.Messages];
        var received = new ConcurrentQueue<(int Number, double At)>();
        int receivedCount = 0;

        await using var subscriber = MqttSession.Create(cluster.ClientOptions($"trial-sub-{run}", node), diagnostics);
        await using var publisher = MqttSession.Create(cluster.ClientOptions($"trial-pub-{run}", node), diagnostics);
        var subscriberBack = new Reconnection(subscriber, clock);
        var publisherBack = new Reconnection(publisher, clock);
        subscriber.AddSubscription(topic, MqttQos.AtLeastOnce, (message, _) =>
        {
            received.Enqueue((int.Parse(Encoding.ASCII.GetString(message.Payload), CultureInfo.InvariantCulture), clock.Elapsed.TotalMilliseconds));
            Interlocked.Increment(ref receivedCount);
            return Task.CompletedTask;
        });
        await subscriber.ConnectAsync(cancellationToken).ConfigureAwait(false);
        await publisher.ConnectAsync(cancellationToken).ConfigureAwait(false);

        double killedAt = double.NaN;
        double nodeBackAt = double.NaN;
        Task restart = Task.CompletedTask;
        double start = clock.Elapsed.TotalMilliseconds + 200;
        double interval = 1000 / options.MessagesPerSecond;
        for (int number = 0; number < options.Messages; number++)
        {
            due[number] = start + (number * interval);
            double wait = due[number] - clock.Elapsed.TotalMilliseconds;
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken).ConfigureAwait(false);
            }

            if (number == options.KillAfter)
            {
                killedAt = clock.Elapsed.TotalMilliseconds;
                subscriberBack.Arm();
                publisherBack.Arm();
                await cluster.KillNodeAsync(node).ConfigureAwait(false);
                restart = Task.Run(
                    async () =>
                    {
                        await Task.Delay(options.DownFor, cancellationToken).ConfigureAwait(false);
                        await cluster.StartNodeAsync(node, cancellationToken).ConfigureAwait(false);
                        nodeBackAt = clock.Elapsed.TotalMilliseconds;
                    },
                    cancellationToken);
            }

            // As an outbox does: the same message again until the broker takes it.
            double giveUpAt = clock.Elapsed.TotalMilliseconds + options.PublishDeadline.TotalMilliseconds;
            while (true)
            {
                try
                {
                    await publisher.PublishAsync(topic, Encoding.ASCII.GetBytes(number.ToString(CultureInfo.InvariantCulture)), MqttQos.AtLeastOnce, retain: false, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (MqttTransportException ex) when (clock.Elapsed.TotalMilliseconds < giveUpAt)
                {
                    diagnostics?.Invoke($"publish {number} failed, again: {ex.Message}");
                    await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await restart.ConfigureAwait(false);
        using (var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            drain.CancelAfter(options.Drain);
            try
            {
                while (received.Select(r => r.Number).Distinct().Count() < options.Messages)
                {
                    await Task.Delay(100, drain.Token).ConfigureAwait(false);
                }

                // Late duplicates (redeliveries of what a dead node had in flight) still count.
                await Task.Delay(500, drain.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Whatever has not arrived by now is counted as lost.
            }
        }

        (int Number, double At)[] messages = [.. received];
        var firstArrival = new Dictionary<int, double>();
        foreach ((int number, double at) in messages)
        {
            if (number >= 0 && number < options.Messages && !firstArrival.ContainsKey(number))
            {
                firstArrival[number] = at;
            }
        }

        List<double> steady = [];
        List<double> loss = [];
        List<double> after = [];
        foreach ((int number, double at) in firstArrival)
        {
            double latency = at - due[number];
            (due[number] < killedAt ? steady : due[number] < nodeBackAt ? loss : after).Add(latency);
        }

        int[] lost = Enumerable.Range(0, options.Messages).Where(n => !firstArrival.ContainsKey(n)).ToArray();
        return new BrokerFailoverResult(
            cluster.Engine,
            node,
            options.Messages,
            messages.Length,
            firstArrival.Count,
            lost.Length,
            messages.Length - firstArrival.Count,
            lost,
            publisherBack.After(killedAt),
            subscriberBack.After(killedAt),
            TimeSpan.FromMilliseconds(nodeBackAt - killedAt),
            steady,
            loss,
            after);
    }

    /// <summary>When a session, once armed, is first Connected again after losing its broker.</summary>
    private sealed class Reconnection
    {
        private readonly Stopwatch _clock;
        private double _lostAt = double.NaN;
        private double _backAt = double.NaN;
        private int _armed;

        public Reconnection(MqttSession session, Stopwatch clock)
        {
            _clock = clock;
            session.StateChanged += (_, e) =>
            {
                if (Volatile.Read(ref _armed) == 0)
                {
                    return;
                }

                if (e.State == MqttConnectionState.Reconnecting && double.IsNaN(_lostAt))
                {
                    _lostAt = _clock.Elapsed.TotalMilliseconds;
                }
                else if (e.State == MqttConnectionState.Connected && !double.IsNaN(_lostAt) && double.IsNaN(_backAt))
                {
                    _backAt = _clock.Elapsed.TotalMilliseconds;
                }
            };
        }

        public void Arm() => Volatile.Write(ref _armed, 1);

        /// <summary>From the kill until Connected on another node; zero if the session never noticed the loss.</summary>
        public TimeSpan After(double killedAt) =>
            double.IsNaN(_lostAt) ? TimeSpan.Zero
            : double.IsNaN(_backAt) ? Timeout.InfiniteTimeSpan
            : TimeSpan.FromMilliseconds(_backAt - killedAt);
    }
}
