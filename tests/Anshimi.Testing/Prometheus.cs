using System.Globalization;

namespace Anshimi.Testing;

/// <summary>Reads one series out of Prometheus text.</summary>
public static class Prometheus
{
    /// <summary>
    /// The value of an exact series such as <c>x_total{reason="bad_tag"}</c> (labels in any order, a series without
    /// labels written with or without <c>{}</c>, the line's optional timestamp ignored); <paramref name="absent"/> when
    /// the text has no such series, as a counter nothing has touched yet is not exported.
    /// </summary>
    public static long Value(string text, string series, long absent = 0)
    {
        ArgumentNullException.ThrowIfNull(text);
        (string name, string[] labels) = Split(series);
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            int end = line.IndexOf('}', StringComparison.Ordinal) is int brace and >= 0 ? brace + 1 : line.IndexOf(' ', StringComparison.Ordinal);
            (string lineName, string[] lineLabels) = Split(line[..end]);
            if (lineName == name && lineLabels.SequenceEqual(labels, StringComparer.Ordinal))
            {
                return (long)double.Parse(line[end..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return absent;
    }

    private static (string Name, string[] Labels) Split(string series)
    {
        int open = series.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            return (series, []);
        }

        string[] labels = series[(open + 1)..series.LastIndexOf('}')].Split(',', StringSplitOptions.RemoveEmptyEntries);
        Array.Sort(labels, StringComparer.Ordinal);
        return (series[..open], labels);
    }
}
