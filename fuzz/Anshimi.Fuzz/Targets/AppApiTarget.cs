using System.Text;
using Anshimi.CloudBridge.App;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.Geo;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using static Anshimi.Fuzz.FuzzInvariantException;

namespace Anshimi.Fuzz.Targets;

/// <summary>
/// The bodies of the app API (cloud bridge <c>/api/app/v1</c>) through <see cref="AppRequestBodies"/>, the parse and
/// checks the endpoints run. The input's first line names the request (<c>start-escort</c>, <c>locations</c>,
/// <c>end-escort</c>, <c>emergency</c>); the rest is the body.
/// </summary>
public sealed class AppApiTarget(SeoulDistricts districts) : IFuzzTarget
{
    // Fix times are checked against the clock; a fixed one keeps every run of an input the same.
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly EscortOptions _options = new();
    private readonly DistrictDirectory _directory = new(districts);

    public void Run(byte[] input)
    {
        int newline = Array.IndexOf(input, (byte)'\n');
        if (newline < 0)
        {
            return;
        }

        var bodies = new AppRequestBodies(_directory, Options.Create(_options), new FixedClock(Now));
        string request = Encoding.ASCII.GetString(input, 0, newline);
        ReadOnlySpan<byte> body = input.AsSpan(newline + 1);
        switch (request)
        {
            case "start-escort":
                (EscortStart? start, IResult? problem) = bodies.StartEscort(body);
                Answer(start, problem);
                Expect(start is null || (InSeoul(start.Origin) && InSeoul(start.Destination)), "an escort starts and ends in Seoul");
                Expect(start?.Route is null || (start.Route.Count >= 2 && start.Route.Count <= _options.MaxRoutePoints && start.Route.All(InSeoul)),
                    "a route has 2 to the most points, all in Seoul");
                break;
            case "locations":
                (IReadOnlyList<LocationFix>? fixes, problem) = bodies.Locations(body);
                Answer(fixes, problem);
                Expect(fixes is null || (fixes.Count >= 1 && fixes.Count <= _options.MaxLocationsPerUpdate), "1 to the most fixes");
                Expect(fixes is null || fixes.All(f => f.At <= Now.AddMinutes(1) && InSeoul(new GeoPoint(f.Latitude, f.Longitude))), "every fix is in Seoul and not in the future");
                break;
            case "end-escort":
                (string? reason, problem) = AppRequestBodies.EndEscort(body);
                Answer(reason, problem);
                Expect(reason is null or EscortState.Arrived or EscortState.Cancelled, "an escort ends arrived or cancelled");
                break;
            case "emergency":
                (EmergencyReport? report, problem) = bodies.Emergency(body);
                Answer(report, problem);
                Expect(report is null || (InSeoul(report.Location) && report.SessionId != 0), "an emergency is in Seoul, in a session or none");
                break;
        }
    }

    private static void Answer(object? value, IResult? problem) =>
        Expect((value is null) != (problem is null) && (problem is null || problem is IStatusCodeHttpResult { StatusCode: 400 }),
            "a checked value or a 400 problem");

    private bool InSeoul(GeoPoint point) => _directory.Resolve(point.Latitude, point.Longitude) != DistrictDirectory.UnknownCode;

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
