using NetTopologySuite.Geometries;
using NetTopologySuite.Index.Strtree;

namespace Anshimi.CloudBridge.Streetlights;

/// <summary>
/// The city's streetlights in metres (<see cref="LocalProjection"/>) under an STR-tree, for "which lights are
/// near this walker" in microseconds. Immutable once built, so any thread may query it.
/// </summary>
public sealed class StreetlightDirectory
{
    private readonly Streetlight[] _lights;
    private readonly double[] _x;
    private readonly double[] _y;
    private readonly STRtree<int> _index = new();
    private readonly Dictionary<uint, int> _byId;

    public StreetlightDirectory(IReadOnlyList<Streetlight> lights)
    {
        ArgumentNullException.ThrowIfNull(lights);
        _lights = lights.ToArray();
        _x = new double[_lights.Length];
        _y = new double[_lights.Length];
        _byId = new Dictionary<uint, int>(_lights.Length);
        for (int i = 0; i < _lights.Length; i++)
        {
            (_x[i], _y[i]) = LocalProjection.ToMetres(_lights[i].Latitude, _lights[i].Longitude);
            _index.Insert(new Envelope(_x[i], _x[i], _y[i], _y[i]), i);
            _byId[_lights[i].Id] = i;
        }

        _index.Build();
    }

    public static StreetlightDirectory Empty { get; } = new([]);

    public int Count => _lights.Length;

    public IReadOnlyList<Streetlight> All => _lights;

    public Streetlight this[int index] => _lights[index];

    public bool TryFind(uint id, out Streetlight? light)
    {
        bool found = _byId.TryGetValue(id, out int index);
        light = found ? _lights[index] : null;
        return found;
    }

    /// <summary>The index of a light by id, or -1.</summary>
    public int IndexOf(uint id) => _byId.TryGetValue(id, out int index) ? index : -1;

    public (double X, double Y) PositionOf(int index) => (_x[index], _y[index]);

    /// <summary>Adds to <paramref name="into"/> the indexes of lights within <paramref name="radius"/> metres of (x, y).</summary>
    public void Within(double x, double y, double radius, ICollection<int> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (_lights.Length == 0)
        {
            return;
        }

        double r2 = radius * radius;
        foreach (int i in _index.Query(new Envelope(x - radius, x + radius, y - radius, y + radius)))
        {
            double dx = _x[i] - x;
            double dy = _y[i] - y;
            if ((dx * dx) + (dy * dy) <= r2)
            {
                into.Add(i);
            }
        }
    }

    /// <summary>Adds the lights within <paramref name="radius"/> metres of the segment from (x0, y0) to (x1, y1).</summary>
    public void AlongSegment(double x0, double y0, double x1, double y1, double radius, ICollection<int> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (_lights.Length == 0)
        {
            return;
        }

        var box = new Envelope(Math.Min(x0, x1) - radius, Math.Max(x0, x1) + radius, Math.Min(y0, y1) - radius, Math.Max(y0, y1) + radius);
        double r2 = radius * radius;
        foreach (int i in _index.Query(box))
        {
            if (Planar.SegmentDistanceSquared(_x[i], _y[i], x0, y0, x1, y1) <= r2)
            {
                into.Add(i);
            }
        }
    }

    /// <summary>The <paramref name="count"/> lights nearest (x, y), nearest first, searching out to <paramref name="maxRadius"/>.</summary>
    public IReadOnlyList<int> Nearest(double x, double y, int count, double maxRadius)
    {
        var found = new List<int>();
        double radius = Math.Min(50, maxRadius);
        while (true)
        {
            found.Clear();
            Within(x, y, radius, found);
            if (found.Count >= count || radius >= maxRadius)
            {
                break;
            }

            radius = Math.Min(radius * 2, maxRadius);
        }

        return found
            .OrderBy(i => ((_x[i] - x) * (_x[i] - x)) + ((_y[i] - y) * (_y[i] - y)))
            .ThenBy(i => _lights[i].Id)
            .Take(count)
            .ToList();
    }
}
