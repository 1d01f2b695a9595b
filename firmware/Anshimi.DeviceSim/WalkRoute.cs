namespace Anshimi.DeviceSim;

/// <summary>
/// Where a walk goes. Through a fleet's streetlights it goes pole to pole, as alleys run where their lights stand:
/// from the light nearest the start to the light nearest the destination, the shortest way whose every step is at
/// most <see cref="MaxStepMetres"/>.
/// </summary>
public static class WalkRoute
{
    public const double MaxStepMetres = 50;

    /// <summary>The route from <paramref name="from"/> to <paramref name="to"/> by way of <paramref name="lights"/>.</summary>
    public static IReadOnlyList<(double Lat, double Lon)> AlongLights(
        IReadOnlyList<(double Lat, double Lon)> lights, (double Lat, double Lon) from, (double Lat, double Lon) to)
    {
        ArgumentNullException.ThrowIfNull(lights);
        if (lights.Count == 0)
        {
            throw new ArgumentException("there are no streetlights to walk along");
        }

        int start = Nearest(lights, from);
        int end = Nearest(lights, to);

        // Dijkstra over the lights, each one a step from every other within reach; a few hundred lights need no index.
        double[] distance = [.. Enumerable.Repeat(double.PositiveInfinity, lights.Count)];
        int[] previous = [.. Enumerable.Repeat(-1, lights.Count)];
        var queue = new PriorityQueue<int, double>();
        distance[start] = 0;
        queue.Enqueue(start, 0);
        while (queue.TryDequeue(out int here, out double walked))
        {
            if (here == end)
            {
                break;
            }

            if (walked > distance[here])
            {
                continue;
            }

            for (int next = 0; next < lights.Count; next++)
            {
                double step = Metres(lights[here], lights[next]);
                if (step <= MaxStepMetres && walked + step < distance[next])
                {
                    distance[next] = walked + step;
                    previous[next] = here;
                    queue.Enqueue(next, walked + step);
                }
            }
        }

        if (double.IsPositiveInfinity(distance[end]))
        {
            throw new ArgumentException($"no way from the light nearest the start to the one nearest the destination with steps of at most {MaxStepMetres} m");
        }

        var poles = new List<(double Lat, double Lon)>();
        for (int i = end; i != -1; i = previous[i])
        {
            poles.Add(lights[i]);
        }

        poles.Reverse();
        List<(double Lat, double Lon)> route = [from];
        foreach ((double Lat, double Lon) point in poles.Append(to))
        {
            if (point != route[^1])
            {
                route.Add(point);
            }
        }

        return route.Count >= 2 ? route : [from, to];
    }

    /// <summary>Metres between two nearby points (equirectangular: exact enough within a district).</summary>
    public static double Metres((double Lat, double Lon) a, (double Lat, double Lon) b)
    {
        double dy = (b.Lat - a.Lat) * 110_540;
        double dx = (b.Lon - a.Lon) * FleetGenerator.MetresPerDegreeLongitude((a.Lat + b.Lat) / 2);
        return Math.Sqrt((dx * dx) + (dy * dy));
    }

    /// <summary>Length of a route in metres.</summary>
    public static double Length(IReadOnlyList<(double Lat, double Lon)> route) =>
        route.Zip(route.Skip(1), Metres).Sum();

    /// <summary>The point <paramref name="metres"/> along the route (its end beyond it).</summary>
    public static (double Lat, double Lon) PointAt(IReadOnlyList<(double Lat, double Lon)> route, double metres)
    {
        for (int i = 0; i < route.Count - 1; i++)
        {
            double leg = Metres(route[i], route[i + 1]);
            if (metres <= leg && leg > 0)
            {
                double t = metres / leg;
                return (route[i].Lat + ((route[i + 1].Lat - route[i].Lat) * t), route[i].Lon + ((route[i + 1].Lon - route[i].Lon) * t));
            }

            metres -= leg;
        }

        return route[^1];
    }

    private static int Nearest(IReadOnlyList<(double Lat, double Lon)> lights, (double Lat, double Lon) point)
    {
        int best = 0;
        for (int i = 1; i < lights.Count; i++)
        {
            if (Metres(lights[i], point) < Metres(lights[best], point))
            {
                best = i;
            }
        }

        return best;
    }
}
