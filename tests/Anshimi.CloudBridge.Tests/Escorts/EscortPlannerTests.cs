using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Streetlights;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Escorts;

/// <summary>
/// Planner geometry on a hand-made street plan in metres around the projection origin: alley A along y = 0
/// (x = 0 … 300, a light every 30 m, gateway gw-a up to x = 150, gw-b after), alley B going north from the
/// corner (300, 0) and alley C continuing straight on from x = 330 (both gw-c).
/// </summary>
public sealed class EscortPlannerTests
{
    private const uint Walker = 0x00C0FFEE;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 21, 30, 0, TimeSpan.Zero));
    private readonly RecordingLightPublisher _publisher = new();
    private readonly Dictionary<(int X, int Y), uint> _ids = [];
    private readonly EscortPlanner _planner;

    public EscortPlannerTests()
    {
        var lights = new List<Streetlight>();
        void Add(int x, int y, string gateway)
        {
            (double lat, double lon) = LocalProjection.ToDegrees(x, y);
            uint id = Streetlight.FirstId + (uint)lights.Count;
            _ids[(x, y)] = id;
            lights.Add(new Streetlight(id, "11140", gateway, lat, lon));
        }

        for (int x = 0; x <= 300; x += 30)
        {
            Add(x, 0, x <= 150 ? "gw-a" : "gw-b");
        }

        for (int y = 30; y <= 300; y += 30)
        {
            Add(300, y, "gw-c");
        }

        for (int x = 330; x <= 450; x += 30)
        {
            Add(x, 0, "gw-c");
        }

        _planner = new EscortPlanner(new StreetlightDirectory(lights), _publisher, Options.Create(new EscortOptions()), _clock);
    }

    [Fact]
    public void Lights_near_and_ahead_along_the_route_enter_escort_and_lights_passed_are_released()
    {
        _planner.Begin(Walker, [Point(0, 0), Point(300, 0), Point(300, 300)]);

        Walk(0, 0);
        Assert.Equal(Ids((0, 0), (30, 0), (60, 0)), _publisher.LightsIn(LightModeName.Escort));
        Assert.Empty(_publisher.LightsIn(LightModeName.Release));

        _publisher.Clear();
        Walk(150, 0);
        Assert.Equal(Ids((180, 0), (210, 0), (120, 0), (150, 0)), _publisher.LightsIn(LightModeName.Escort));
        Assert.Equal(Ids((0, 0), (30, 0), (60, 0)), _publisher.LightsIn(LightModeName.Release));
        Assert.All(_publisher.Commands.Where(c => c.Command.Mode == LightModeName.Escort), c => Assert.Equal(30, c.Command.HoldSeconds));
        Assert.All(_publisher.Commands, c => Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromSeconds(10), c.Command.ExpiresAt));
    }

    [Fact]
    public void The_route_leads_round_the_corner_where_the_heading_would_go_straight_on()
    {
        _planner.Begin(Walker, [Point(0, 0), Point(300, 0), Point(300, 300)]);
        Walk(240, 0);
        _publisher.Clear();
        Walk(270, 0);

        // 30 m to the corner, then 30 m north: B's first light is ahead, C's first light straight on is not.
        Assert.Contains(Id(300, 30), LitIds());
        Assert.DoesNotContain(Id(330, 0), LitIds());

        const uint straight = Walker + 1;
        _planner.Begin(straight, null);
        _planner.Update(straight, Point(240, 0).Latitude, Point(240, 0).Longitude);
        _planner.Update(straight, Point(270, 0).Latitude, Point(270, 0).Longitude);
        IReadOnlyList<uint> lit = _planner.LitFor(straight);
        Assert.Contains(Id(330, 0), lit);
        Assert.DoesNotContain(Id(300, 30), lit);
    }

    [Fact]
    public void Without_a_route_or_heading_only_nearby_lights_are_lit_then_the_heading_leads()
    {
        _planner.Begin(Walker, null);
        Walk(0, 0);
        Assert.Equal(Ids((0, 0), (30, 0)), _publisher.LightsIn(LightModeName.Escort));

        _publisher.Clear();
        Walk(10, 0);

        // Heading +x: the next 60 m (to x = 70) bring in the light at 60.
        Assert.Equal(Ids((60, 0)), _publisher.LightsIn(LightModeName.Escort));
        Assert.Empty(_publisher.LightsIn(LightModeName.Release));
    }

    [Fact]
    public void Commands_are_grouped_one_per_gateway_and_mode()
    {
        _planner.Begin(Walker, null);
        Walk(165, 0);

        List<(string Gateway, LightCommandEnvelope Command)> commands = _publisher.Commands.ToList();
        Assert.Equal(["gw-a", "gw-b"], commands.Select(c => c.Gateway).Order(StringComparer.Ordinal));
        Assert.Equal(Ids((150, 0)), commands.Single(c => c.Gateway == "gw-a").Command.Lights.Order(StringComparer.Ordinal));
        Assert.Equal(Ids((180, 0)), commands.Single(c => c.Gateway == "gw-b").Command.Lights.Order(StringComparer.Ordinal));
        Assert.Equal(2, commands.Select(c => c.Command.RequestId).Distinct().Count());
    }

    [Fact]
    public void Held_lights_are_refreshed_before_their_hold_runs_out_and_not_before()
    {
        _planner.Begin(Walker, null);
        Walk(0, 0);
        _publisher.Clear();

        _clock.Advance(TimeSpan.FromSeconds(19));
        Walk(0, 0);
        _planner.RefreshHeld();
        Assert.Empty(_publisher.Commands);

        // Hold 30 s, margin 10 s: at 20 s the lights are commanded again, once, by either path.
        _clock.Advance(TimeSpan.FromSeconds(1));
        _planner.RefreshHeld();
        Walk(0, 0);
        Assert.Equal(Ids((0, 0), (30, 0)), _publisher.LightsIn(LightModeName.Escort));
        Assert.Single(_publisher.Commands);
    }

    [Fact]
    public void A_light_two_walkers_share_is_released_only_when_both_have_left()
    {
        const uint other = Walker + 1;
        _planner.Begin(Walker, null);
        _planner.Begin(other, null);
        Walk(0, 0);
        _planner.Update(other, Point(15, 0).Latitude, Point(15, 0).Longitude);
        _publisher.Clear();

        _planner.End(Walker);
        Assert.Empty(_publisher.Commands);

        _planner.End(other);
        Assert.Equal(Ids((0, 0), (30, 0)), _publisher.LightsIn(LightModeName.Release));
    }

    [Fact]
    public void An_emergency_blinks_the_nearest_lights_until_ended_and_an_escort_neither_overrides_nor_releases_it()
    {
        IReadOnlyList<Streetlight> lights = _planner.BeginEmergency("5E000000:1", Point(62, 2).Latitude, Point(62, 2).Longitude);
        Assert.Equal([Id(60, 0), Id(90, 0), Id(30, 0)], lights.Select(l => l.Id));
        (string _, LightCommandEnvelope emergency) = Assert.Single(_publisher.Commands);
        Assert.Equal(LightModeName.Emergency, emergency.Mode);
        Assert.Equal(0, emergency.HoldSeconds);

        _publisher.Clear();
        _planner.Begin(Walker, null);
        Walk(0, 0);
        Assert.Equal(Ids((0, 0)), _publisher.LightsIn(LightModeName.Escort));

        _publisher.Clear();
        Walk(200, 0);
        Assert.Equal(Ids((0, 0)), _publisher.LightsIn(LightModeName.Release));

        Walk(45, 0);
        _publisher.Clear();
        _planner.EndEmergency("5E000000:1");

        // The walker still wants 30 and 60: they go back to escort; 90 is nobody's and is released.
        Assert.Equal(Ids((30, 0), (60, 0)), _publisher.LightsIn(LightModeName.Escort));
        Assert.Equal(Ids((90, 0)), _publisher.LightsIn(LightModeName.Release));
    }

    [Fact]
    public void An_open_emergency_is_commanded_again_whenever_the_last_command_has_expired_and_never_after_it_ends()
    {
        _planner.BeginEmergency("5E000000:2", Point(62, 2).Latitude, Point(62, 2).Longitude);
        _publisher.Clear();
        TimeSpan expiry = new EscortOptions().EmergencyCommandExpiry;

        _clock.Advance(expiry - TimeSpan.FromSeconds(1));
        _planner.RefreshHeld();
        Assert.Empty(_publisher.Commands);

        _clock.Advance(TimeSpan.FromSeconds(1));
        _planner.RefreshHeld();
        _planner.RefreshHeld();
        (string _, LightCommandEnvelope again) = Assert.Single(_publisher.Commands);
        Assert.Equal(LightModeName.Emergency, again.Mode);
        Assert.Equal(Ids((30, 0), (60, 0), (90, 0)), _publisher.LightsIn(LightModeName.Emergency));

        _planner.EndEmergency("5E000000:2");
        _publisher.Clear();
        _clock.Advance(2 * expiry);
        _planner.RefreshHeld();
        Assert.Empty(_publisher.Commands);
    }

    private static GeoPoint Point(double x, double y)
    {
        (double lat, double lon) = LocalProjection.ToDegrees(x, y);
        return new GeoPoint(lat, lon);
    }

    private void Walk(double x, double y)
    {
        GeoPoint p = Point(x, y);
        _planner.Update(Walker, p.Latitude, p.Longitude);
    }

    private IReadOnlyList<uint> LitIds() => _planner.LitFor(Walker);

    private uint Id(int x, int y) => _ids[(x, y)];

    private List<string> Ids(params (int X, int Y)[] points) =>
        points.Select(p => DeviceIdText.Format(Id(p.X, p.Y))).Order(StringComparer.Ordinal).ToList();
}
