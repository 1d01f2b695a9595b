using System.Globalization;
using System.Security.Cryptography;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>Light command request ids: a random per-process prefix and a counter, short and unique across restarts.</summary>
internal static class RequestIds
{
    private static readonly string Prefix = "lc-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + "-";
    private static long _next;

    public static string Next() => Prefix + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture);
}
