namespace Anshimi.Mqtt;

/// <summary>
/// MQTT 5 shared subscriptions (<c>$share/group/filter</c>, also taken by Mosquitto 2 from MQTT 3.1.1 clients): the
/// broker hands each matching message to one session of the group, so several instances of one service split the
/// work instead of each receiving everything.
/// </summary>
public static class SharedSubscription
{
    private const string Prefix = "$share/";

    /// <summary>The filter that shares <paramref name="topicFilter"/> within <paramref name="group"/>.</summary>
    public static string Filter(string group, string topicFilter)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        if (group.AsSpan().IndexOfAny("/+#") >= 0)
        {
            throw new ArgumentException($"A share group name holds no '/', '+' or '#': '{group}'.", nameof(group));
        }

        return Prefix + group + "/" + topicFilter;
    }

    /// <summary>Whether <paramref name="filter"/> is a shared subscription's.</summary>
    public static bool IsShared(string filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return filter.StartsWith(Prefix, StringComparison.Ordinal);
    }

    /// <summary>The filter the topics of delivered messages match: <paramref name="filter"/> without its share prefix.</summary>
    public static string TopicFilterOf(string filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (!IsShared(filter))
        {
            return filter;
        }

        int end = filter.IndexOf('/', Prefix.Length);
        return end < 0 ? filter : filter[(end + 1)..];
    }
}
