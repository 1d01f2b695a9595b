using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Anshimi.Gateway.Diagnostics;

/// <summary>
/// Renders the gateway meter's instruments in the Prometheus text format (version 0.0.4): counters
/// become <c>name_total</c>, gauges keep their name, tags become labels, dots become underscores.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<Instrument, Family> _families = [];

    public PrometheusExporter(GatewayMetrics metrics)
    {
        Meter meter = metrics.Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // The exact meter instance, not its name: other meters of the same name stay out.
            if (instrument.Meter == meter)
            {
                lock (_lock)
                {
                    _families[instrument] = new Family(instrument);
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    public string Scrape()
    {
        // Gauges report through the same callbacks, under the lock taken per measurement.
        _listener.RecordObservableInstruments();
        var text = new StringBuilder();
        lock (_lock)
        {
            foreach (Family family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                family.WriteTo(text);
            }
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string labels = Labels(tags);
        lock (_lock)
        {
            if (_families.TryGetValue(instrument, out Family? family))
            {
                family.Record(labels, value);
            }
        }
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return "";
        }

        var pairs = new List<string>(tags.Length);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            pairs.Add(Sanitize(tag.Key) + "=\"" + Escape(Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? "") + "\"");
        }

        pairs.Sort(StringComparer.Ordinal);
        return "{" + string.Join(',', pairs) + "}";
    }

    private static string Sanitize(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            text.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        return text.ToString();
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal)
        .Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private sealed class Family(Instrument instrument)
    {
        private readonly bool _isCounter = instrument is Counter<long> or Counter<int> or Counter<double>;

        // Untagged series start at zero so a scrape shows every counter before its first event.
        private readonly SortedDictionary<string, double> _series = new(StringComparer.Ordinal) { [""] = 0 };

        private bool _tagged;

        public string Name => Sanitize(instrument.Name) + (_isCounter ? "_total" : "");

        public void Record(string labels, double value)
        {
            if (labels.Length > 0 && !_tagged)
            {
                _tagged = true;
                _series.Remove("");
            }

            _series[labels] = _isCounter && _series.TryGetValue(labels, out double sum) ? sum + value : value;
        }

        public void WriteTo(StringBuilder text)
        {
            string name = Name;
            if (!string.IsNullOrEmpty(instrument.Description))
            {
                text.Append("# HELP ").Append(name).Append(' ').Append(instrument.Description).Append('\n');
            }

            text.Append("# TYPE ").Append(name).Append(' ').Append(_isCounter ? "counter" : "gauge").Append('\n');
            foreach (KeyValuePair<string, double> series in _series)
            {
                text.Append(name).Append(series.Key).Append(' ').Append(Number(series.Value)).Append('\n');
            }
        }
    }
}
