namespace Anshimi.CloudBridge.Streetlights;

/// <summary>Plane geometry in projected metres.</summary>
public static class Planar
{
    /// <summary>Squared distance from (px, py) to the segment (x0, y0)–(x1, y1).</summary>
    public static double SegmentDistanceSquared(double px, double py, double x0, double y0, double x1, double y1)
    {
        double t = SegmentParameter(px, py, x0, y0, x1, y1);
        double cx = x0 + (t * (x1 - x0)) - px;
        double cy = y0 + (t * (y1 - y0)) - py;
        return (cx * cx) + (cy * cy);
    }

    /// <summary>Where along the segment (0 start, 1 end) the point (px, py) projects, clamped.</summary>
    public static double SegmentParameter(double px, double py, double x0, double y0, double x1, double y1)
    {
        double dx = x1 - x0;
        double dy = y1 - y0;
        double length2 = (dx * dx) + (dy * dy);
        return length2 == 0 ? 0 : Math.Clamp((((px - x0) * dx) + ((py - y0) * dy)) / length2, 0, 1);
    }

    public static double Distance(double x0, double y0, double x1, double y1) => Math.Sqrt(((x1 - x0) * (x1 - x0)) + ((y1 - y0) * (y1 - y0)));
}
