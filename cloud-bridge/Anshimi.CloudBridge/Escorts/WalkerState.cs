using Anshimi.CloudBridge.Streetlights;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>
/// What the planner needs of a walk between fixes, as stored in its session row (<c>walk</c>) so that any bridge instance
/// can take the next fix: progress along the route, the last anchor of the heading, the heading, the lights it holds (ids).
/// </summary>
public sealed record WalkRecord(int Segment, double? AnchorX, double? AnchorY, double? HeadingX, double? HeadingY, uint[] Lit);

/// <summary>What the planner remembers of one walker: the route in metres, progress along it, heading and held lights.</summary>
internal sealed class WalkerState
{
    /// <summary>Movement below this is GPS jitter, not a heading.</summary>
    private const double HeadingMinimumMove = 3;

    private double _anchorX;
    private double _anchorY;
    private bool _hasAnchor;
    private int _segment;

    public WalkerState(IReadOnlyList<GeoPoint>? route)
    {
        if (route is { Count: >= 2 })
        {
            RouteX = new double[route.Count];
            RouteY = new double[route.Count];
            for (int i = 0; i < route.Count; i++)
            {
                (RouteX[i], RouteY[i]) = LocalProjection.ToMetres(route[i].Latitude, route[i].Longitude);
            }
        }
    }

    public double[]? RouteX { get; }

    public double[]? RouteY { get; }

    public bool HasHeading { get; private set; }

    public double HeadingX { get; private set; }

    public double HeadingY { get; private set; }

    public HashSet<int> Lit { get; set; } = [];

    /// <summary>The session row's version this state matches; another instance's update makes it stale.</summary>
    public long Version { get; set; }

    public WalkRecord ToRecord(StreetlightDirectory lights) => new(
        _segment,
        _hasAnchor ? _anchorX : null,
        _hasAnchor ? _anchorY : null,
        HasHeading ? HeadingX : null,
        HasHeading ? HeadingY : null,
        [.. Lit.Select(i => lights[i].Id).Order()]);

    /// <summary>Takes up a walk where <paramref name="walk"/> left it; lights no longer in the directory are dropped.</summary>
    public void Resume(WalkRecord walk, StreetlightDirectory lights)
    {
        _segment = RouteX is null ? 0 : Math.Clamp(walk.Segment, 0, RouteX.Length - 2);
        (_hasAnchor, _anchorX, _anchorY) = walk is { AnchorX: { } ax, AnchorY: { } ay } ? (true, ax, ay) : (false, 0, 0);
        (HasHeading, HeadingX, HeadingY) = walk is { HeadingX: { } hx, HeadingY: { } hy } ? (true, hx, hy) : (false, 0, 0);
        Lit = [.. walk.Lit.Select(lights.IndexOf).Where(i => i >= 0)];
    }

    /// <summary>
    /// Finds where the walker is on the route: the nearest segment from the last one onwards (a walk goes
    /// forward, and a route may pass the same corner twice), the whole route if that is too far.
    /// </summary>
    public bool TryFollowRoute(double x, double y, double offRoute, out int segment, out double px, out double py)
    {
        segment = -1;
        px = py = 0;
        if (RouteX is null || RouteY is null)
        {
            return false;
        }

        double limit = offRoute * offRoute;
        segment = Nearest(x, y, Math.Max(0, _segment - 1), out double best);
        if (best > limit)
        {
            segment = Nearest(x, y, 0, out best);
        }

        if (best > limit)
        {
            return false;
        }

        _segment = segment;
        double t = Planar.SegmentParameter(x, y, RouteX[segment], RouteY[segment], RouteX[segment + 1], RouteY[segment + 1]);
        px = RouteX[segment] + (t * (RouteX[segment + 1] - RouteX[segment]));
        py = RouteY[segment] + (t * (RouteY[segment + 1] - RouteY[segment]));
        return true;
    }

    public void MovedTo(double x, double y)
    {
        if (!_hasAnchor)
        {
            (_anchorX, _anchorY, _hasAnchor) = (x, y, true);
            return;
        }

        double moved = Planar.Distance(_anchorX, _anchorY, x, y);
        if (moved >= HeadingMinimumMove)
        {
            HeadingX = (x - _anchorX) / moved;
            HeadingY = (y - _anchorY) / moved;
            HasHeading = true;
            (_anchorX, _anchorY) = (x, y);
        }
    }

    private int Nearest(double x, double y, int from, out double bestDistanceSquared)
    {
        int best = from;
        bestDistanceSquared = double.MaxValue;
        for (int i = from; i < RouteX!.Length - 1; i++)
        {
            double d = Planar.SegmentDistanceSquared(x, y, RouteX[i], RouteY![i], RouteX[i + 1], RouteY[i + 1]);
            if (d < bestDistanceSquared)
            {
                (best, bestDistanceSquared) = (i, d);
            }
        }

        return best;
    }
}
