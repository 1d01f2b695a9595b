using System.Diagnostics;
using System.Threading.Channels;
using Anshimi.CloudBridge.Hosting;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>What the live console hears: a new alarm, or a change to a known one.</summary>
public sealed record AlarmFeedEvent(string Kind, AlarmView Alarm)
{
    public const string NewAlarm = "alarm";
    public const string Updated = "alarm-updated";
}

/// <summary>
/// Fan-out of alarm events to live console connections. A subscriber that falls far behind is
/// cut off rather than slowing the relay; its EventSource reconnects and reloads the list.
/// </summary>
public sealed class AlarmFeed
{
    private const int SubscriberBacklog = 256;

    private readonly Lock _gate = new();
    private readonly List<AlarmSubscription> _subscribers = [];

    public int SubscriberCount
    {
        get
        {
            lock (_gate)
            {
                return _subscribers.Count;
            }
        }
    }

    public void Publish(AlarmFeedEvent feedEvent)
    {
        ArgumentNullException.ThrowIfNull(feedEvent);
        using Activity? span = CloudBridgeTelemetry.Source.StartActivity("alarm.console");
        span?.SetTag("anshimi.alarm.key", feedEvent.Alarm.Key);
        span?.SetTag("anshimi.feed.kind", feedEvent.Kind);
        lock (_gate)
        {
            span?.SetTag("anshimi.feed.subscribers", _subscribers.Count);
            for (int i = _subscribers.Count - 1; i >= 0; i--)
            {
                if (!_subscribers[i].Offer(feedEvent))
                {
                    _subscribers.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>
    /// Cuts every subscriber off, after what it already holds: each console's stream ends, and the console reconnects and
    /// reloads its list from the store, forgetting whatever it was told that the store does not hold.
    /// </summary>
    public void CutOffAll()
    {
        lock (_gate)
        {
            foreach (AlarmSubscription subscription in _subscribers)
            {
                subscription.CutOff();
            }

            _subscribers.Clear();
        }
    }

    /// <summary>Receives every event published from now until the subscription is disposed or cut off.</summary>
    public AlarmSubscription Subscribe()
    {
        var subscription = new AlarmSubscription(this, SubscriberBacklog);
        lock (_gate)
        {
            _subscribers.Add(subscription);
        }

        return subscription;
    }

    internal void Remove(AlarmSubscription subscription)
    {
        lock (_gate)
        {
            _subscribers.Remove(subscription);
        }
    }
}

public sealed class AlarmSubscription : IDisposable
{
    private readonly AlarmFeed _feed;
    private readonly Channel<AlarmFeedEvent> _channel;

    internal AlarmSubscription(AlarmFeed feed, int backlog)
    {
        _feed = feed;
        _channel = Channel.CreateBounded<AlarmFeedEvent>(new BoundedChannelOptions(backlog) { SingleReader = true });
    }

    public ChannelReader<AlarmFeedEvent> Reader => _channel.Reader;

    public void Dispose()
    {
        _feed.Remove(this);
        _channel.Writer.TryComplete();
    }

    /// <summary>False when the backlog is full: the subscription is then completed.</summary>
    internal bool Offer(AlarmFeedEvent feedEvent)
    {
        if (_channel.Writer.TryWrite(feedEvent))
        {
            return true;
        }

        _channel.Writer.TryComplete();
        return false;
    }

    internal void CutOff() => _channel.Writer.TryComplete();
}
