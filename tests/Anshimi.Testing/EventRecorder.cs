namespace Anshimi.Testing;

/// <summary>
/// Collects events raised on any thread and lets a test wait, with a bound, for one that matches:
/// <c>client.StateChanged += (_, e) => states.Add(e);</c> then <c>await states.WaitForAsync(e => ..., timeout)</c>.
/// </summary>
public sealed class EventRecorder<T>
{
    private readonly Lock _gate = new();
    private readonly List<T> _items = [];
    private readonly List<Waiter> _waiters = [];

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _items.Count;
            }
        }
    }

    public IReadOnlyList<T> Items
    {
        get
        {
            lock (_gate)
            {
                return [.. _items];
            }
        }
    }

    public void Add(T item)
    {
        List<Waiter> matched;
        int index;
        lock (_gate)
        {
            index = _items.Count;
            _items.Add(item);
            matched = [.. _waiters.Where(w => index >= w.StartIndex && w.Match(item))];
        }

        foreach (var waiter in matched)
        {
            waiter.Found.TrySetResult(index);
        }
    }

    /// <summary>
    /// The first matching item at or after <paramref name="startIndex"/>, recorded already or still to come;
    /// throws <see cref="TimeoutException"/> listing what was recorded when none arrives in time.
    /// </summary>
    public async Task<T> WaitForAsync(Func<T, bool> match, TimeSpan timeout, int startIndex = 0, CancellationToken cancellationToken = default)
    {
        var index = await WaitForIndexAsync(match, timeout, startIndex, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            return _items[index];
        }
    }

    /// <summary>Like <see cref="WaitForAsync"/> but returns the item's position, for waiting on what follows it.</summary>
    public async Task<int> WaitForIndexAsync(Func<T, bool> match, TimeSpan timeout, int startIndex = 0, CancellationToken cancellationToken = default)
    {
        var waiter = new Waiter(match, startIndex);
        lock (_gate)
        {
            for (var i = startIndex; i < _items.Count; i++)
            {
                if (match(_items[i]))
                {
                    return i;
                }
            }

            _waiters.Add(waiter);
        }

        try
        {
            return await waiter.Found.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(
                $"No matching {typeof(T).Name} within {timeout.TotalSeconds:0.#} s. Recorded:\n  {string.Join("\n  ", Items.Select(Describe))}");
        }
        finally
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    private static string Describe(T item) =>
        item switch
        {
            Anshimi.Mqtt.MqttStateChangedEventArgs state => $"{state.State}: {state.Reason}",
            Anshimi.Mqtt.MqttMessage message => $"{message.Topic} ({message.Payload.Length} bytes): {Convert.ToHexString(message.Payload)}",
            _ => item?.ToString() ?? "null",
        };

    private sealed class Waiter(Func<T, bool> match, int startIndex)
    {
        public Func<T, bool> Match { get; } = match;

        public int StartIndex { get; } = startIndex;

        public TaskCompletionSource<int> Found { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
