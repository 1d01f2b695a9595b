using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Operators;

/// <summary>What the throttle says about a sign-in attempt before its password is checked.</summary>
/// <param name="RetryAfter">Non-zero: refused, because its own source address sent too many wrong passwords.</param>
/// <param name="Hold">Non-zero: checked only after this wait, because its user name had too many wrong passwords.</param>
public readonly record struct SignInAdmission(TimeSpan RetryAfter, TimeSpan Hold)
{
    public bool Refused => RetryAfter > TimeSpan.Zero;
}

/// <summary>
/// Growing delays instead of a lockout, counted in memory by source address and by user name (known or not, so
/// the answers never tell which names exist). After <see cref="OperatorOptions.FreeFailedSignIns"/> failures a key
/// waits <see cref="OperatorOptions.SignInDelay"/>, doubling with each further failure. A source over its delay is
/// refused (429) — that only hurts whoever sends the wrong passwords. A user name over its delay has its next
/// attempts held, never refused, and for at most <see cref="OperatorOptions.MaxUserNameDelay"/>: wrong passwords
/// sent from elsewhere slow the right one down by seconds but can never keep an operator, or central staff, out.
/// </summary>
public sealed class SignInThrottle
{
    /// <summary>Keys kept per kind; beyond it, keys without a recent failure are dropped first.</summary>
    public const int MaxTrackedKeys = 100_000;

    private readonly OperatorOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Failures> _bySource = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Failures> _byUserName = new(StringComparer.Ordinal);

    public SignInThrottle(IOptions<OperatorOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
    }

    /// <summary>One source per IPv4 address or IPv6 /64 (what one subscriber usually holds).</summary>
    public static string SourceOf(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        byte[] bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    public SignInAdmission Admit(string userName, string source)
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_gate)
        {
            TimeSpan sourceWait = Remaining(_bySource, source, _options.MaxSourceDelay, now);
            return sourceWait > TimeSpan.Zero
                ? new SignInAdmission(sourceWait, TimeSpan.Zero)
                : new SignInAdmission(TimeSpan.Zero, Remaining(_byUserName, userName, _options.MaxUserNameDelay, now));
        }
    }

    public void Failed(string userName, string source)
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_gate)
        {
            Count(_bySource, source, now);
            Count(_byUserName, userName, now);
        }
    }

    /// <summary>The right password clears its user name and its source.</summary>
    public void Succeeded(string userName, string source)
    {
        lock (_gate)
        {
            _bySource.Remove(source);
            _byUserName.Remove(userName);
        }
    }

    private TimeSpan Remaining(Dictionary<string, Failures> counts, string key, TimeSpan cap, DateTimeOffset now)
    {
        if (!counts.TryGetValue(key, out Failures failures) || failures.Count < _options.FreeFailedSignIns)
        {
            return TimeSpan.Zero;
        }

        TimeSpan delay = _options.SignInDelay * Math.Pow(2, Math.Min(failures.Count - _options.FreeFailedSignIns, 30));
        TimeSpan remaining = failures.Last + (delay < cap ? delay : cap) - now;
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    private void Count(Dictionary<string, Failures> counts, string key, DateTimeOffset now)
    {
        int previous = counts.TryGetValue(key, out Failures failures) && now - failures.Last < _options.FailureMemory ? failures.Count : 0;
        if (previous == 0 && counts.Count >= MaxTrackedKeys)
        {
            Forget(counts, now);
        }

        counts[key] = new Failures(previous + 1, now);
    }

    /// <summary>Drops forgotten keys; if every key is recent (a flood of new names), the oldest half goes.</summary>
    private void Forget(Dictionary<string, Failures> counts, DateTimeOffset now)
    {
        foreach (KeyValuePair<string, Failures> entry in counts.Where(e => now - e.Value.Last >= _options.FailureMemory).ToList())
        {
            counts.Remove(entry.Key);
        }

        if (counts.Count >= MaxTrackedKeys)
        {
            foreach (string key in counts.OrderBy(e => e.Value.Last).Take(counts.Count / 2).Select(e => e.Key).ToList())
            {
                counts.Remove(key);
            }
        }
    }

    private readonly record struct Failures(int Count, DateTimeOffset Last);
}
