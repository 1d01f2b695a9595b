using System.Globalization;

namespace Anshimi.Bench;

/// <summary>Nearest-rank percentiles of a set of latency samples, in milliseconds.</summary>
internal sealed class Percentiles
{
    private readonly double[] _sorted;

    public Percentiles(IEnumerable<double> samples)
    {
        _sorted = samples.Order().ToArray();
    }

    public int Count => _sorted.Length;

    public double this[double percentile] =>
        _sorted.Length == 0 ? double.NaN : _sorted[Math.Clamp((int)Math.Ceiling(percentile / 100 * _sorted.Length) - 1, 0, _sorted.Length - 1)];

    public double Max => _sorted.Length == 0 ? double.NaN : _sorted[^1];

    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"n={Count,5}  p50={this[50],7:F2} ms  p99={this[99],7:F2} ms  max={Max,7:F2} ms");
}
