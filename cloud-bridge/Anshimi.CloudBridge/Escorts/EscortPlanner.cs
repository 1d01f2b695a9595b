using Anshimi.CloudBridge.Streetlights;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>A WGS84 position.</summary>
public readonly record struct GeoPoint(double Latitude, double Longitude);

/// <summary>
/// Decides which streetlights each walker needs: lights within <see cref="EscortOptions.NearRadiusMetres"/> and
/// those along the next <see cref="EscortOptions.AheadMetres"/> of the route (or of the heading without one).
/// Lights are claimed per session and per emergency, so a light shared by two walkers is released only when
/// neither wants it, and an escort never overrides or releases an emergency. Only changes go out: newly
/// wanted lights get <c>escort</c>, lights no one wants any more get <c>release</c>, held lights are repeated
/// before their hold runs out — one command per gateway and mode. The walks it plans are a copy of the stored ones
/// (<see cref="WalkRecord"/>, versioned): a walk another bridge instance has moved on is taken up from the store with
/// <see cref="Resume"/>, and <see cref="Forget"/> drops this instance's copy, neither sending anything.
/// </summary>
public sealed class EscortPlanner
{
    private readonly StreetlightDirectory _lights;
    private readonly ILightCommandPublisher _publisher;
    private readonly EscortOptions _options;
    private readonly TimeProvider _time;
    private readonly TimeSpan _refreshAfter;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<uint, WalkerState> _walkers = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> _emergencies = new(StringComparer.Ordinal);

    // Claims of every light in use, and the commands they cause, change together under this lock.
    private readonly Lock _gate = new();
    private readonly Dictionary<int, LightClaim> _claims = [];

    public EscortPlanner(StreetlightDirectory lights, ILightCommandPublisher publisher, IOptions<EscortOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _lights = lights;
        _publisher = publisher;
        _options = options.Value;
        _time = time;
        _refreshAfter = TimeSpan.FromSeconds(Math.Max(1, _options.HoldSeconds - _options.RefreshMarginSeconds));
    }

    public StreetlightDirectory Lights => _lights;

    public int ActiveWalkers => _walkers.Count;

    /// <summary>Starts planning for a walker, with the planned route when the app gave one.</summary>
    public void Begin(uint sessionId, IReadOnlyList<GeoPoint>? route) => _walkers.TryAdd(sessionId, new WalkerState(route));

    public bool IsWalking(uint sessionId) => _walkers.ContainsKey(sessionId);

    /// <summary>The stored version this instance's copy of the walk matches; null when it has none.</summary>
    public long? VersionOf(uint sessionId) => _walkers.TryGetValue(sessionId, out WalkerState? walker) ? walker.Version : null;

    /// <summary>Every walk this instance plans, with the version its copy matches.</summary>
    public IReadOnlyList<(uint SessionId, long Version)> Walks() => [.. _walkers.Select(w => (w.Key, w.Value.Version))];

    /// <summary>The walk's state to store once an update is through, marked as matching <paramref name="version"/>.</summary>
    public WalkRecord? Commit(uint sessionId, long version)
    {
        if (!_walkers.TryGetValue(sessionId, out WalkerState? walker))
        {
            return null;
        }

        lock (walker)
        {
            walker.Version = version;
            return walker.ToRecord(_lights);
        }
    }

    /// <summary>
    /// Takes up a walk where the store has it (another instance moved it on, or this one restarted): this instance's claims
    /// follow the stored lights, with no command, as whoever moved it last has sent them. Held lights are refreshed soon.
    /// </summary>
    public void Resume(uint sessionId, IReadOnlyList<GeoPoint>? route, WalkRecord? walk, long version)
    {
        var resumed = new WalkerState(route) { Version = version };
        if (walk is not null)
        {
            resumed.Resume(walk, _lights);
        }

        Drop(_walkers.TryGetValue(sessionId, out WalkerState? stale) ? stale : null);
        _walkers[sessionId] = resumed;
        lock (resumed)
        {
            lock (_gate)
            {
                // Commanded at some moment of the last refresh period: refreshed within half of it.
                DateTimeOffset sentAbout = _time.GetUtcNow() - (_refreshAfter / 2);
                foreach (int light in resumed.Lit)
                {
                    LightClaim claim = ClaimOf(light);
                    if (claim.Escorts++ == 0)
                    {
                        claim.LastEscortSent = sentAbout;
                    }
                }
            }
        }
    }

    /// <summary>Drops this instance's copy of a walk that ended or moved on elsewhere; nothing is sent.</summary>
    public void Forget(uint sessionId)
    {
        if (_walkers.TryRemove(sessionId, out WalkerState? walker))
        {
            Drop(walker);
        }
    }

    /// <summary>The lights lit for a walker now (ids), for status and tests.</summary>
    public IReadOnlyList<uint> LitFor(uint sessionId)
    {
        if (!_walkers.TryGetValue(sessionId, out WalkerState? walker))
        {
            return [];
        }

        lock (walker)
        {
            return walker.Lit.Select(i => _lights[i].Id).Order().ToList();
        }
    }

    /// <summary>
    /// Every light claimed now (directory index) and the mode it was commanded into: <c>emergency</c> when any
    /// emergency holds it, else <c>escort</c>. A copy taken under the lock, for the control-center map.
    /// </summary>
    public IReadOnlyDictionary<int, string> HeldLights()
    {
        lock (_gate)
        {
            var held = new Dictionary<int, string>(_claims.Count);
            foreach ((int light, LightClaim claim) in _claims)
            {
                if (claim.Emergencies > 0)
                {
                    held[light] = LightModeName.Emergency;
                }
                else if (claim.Escorts > 0)
                {
                    held[light] = LightModeName.Escort;
                }
            }

            return held;
        }
    }

    /// <summary>The walker is at (latitude, longitude): claim what is needed now, let go of the rest. Returns how many lights it holds.</summary>
    public int Update(uint sessionId, double latitude, double longitude)
    {
        if (!_walkers.TryGetValue(sessionId, out WalkerState? walker))
        {
            return 0;
        }

        (double x, double y) = LocalProjection.ToMetres(latitude, longitude);
        lock (walker)
        {
            var wanted = new HashSet<int>();
            _lights.Within(x, y, _options.NearRadiusMetres, wanted);
            walker.MovedTo(x, y);
            AddAhead(walker, x, y, wanted);
            Apply(walker, wanted);
            return wanted.Count;
        }
    }

    /// <summary>The walk is over: every light it held is released unless someone else still needs it.</summary>
    public void End(uint sessionId)
    {
        if (!_walkers.TryRemove(sessionId, out WalkerState? walker))
        {
            return;
        }

        lock (walker)
        {
            Apply(walker, []);
        }
    }

    /// <summary>The lights an emergency at (latitude, longitude) sets blinking, nearest first; nothing is claimed.</summary>
    public IReadOnlyList<Streetlight> EmergencyLightsAt(double latitude, double longitude) =>
        NearestForEmergency(latitude, longitude).Select(i => _lights[i]).ToList();

    /// <summary>Sets the lights nearest (latitude, longitude) blinking until <see cref="EndEmergency"/>; returns them, nearest first.</summary>
    public IReadOnlyList<Streetlight> BeginEmergency(string emergencyId, double latitude, double longitude)
    {
        int[] nearest = NearestForEmergency(latitude, longitude);
        if (!_emergencies.TryAdd(emergencyId, nearest))
        {
            return _emergencies[emergencyId].Select(i => _lights[i]).ToList();
        }

        var batch = new CommandBatch();
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            foreach (int light in nearest)
            {
                LightClaim claim = ClaimOf(light);
                if (claim.Emergencies++ == 0)
                {
                    claim.LastEmergencySent = now;
                    batch.Add(LightModeName.Emergency, light);
                }
            }

            Send(batch);
        }

        return nearest.Select(i => _lights[i]).ToList();
    }

    /// <summary>The operator closed the emergency: its lights go back to escort if a walker still needs them, else to their schedule.</summary>
    public void EndEmergency(string emergencyId)
    {
        if (!_emergencies.TryRemove(emergencyId, out int[]? lights))
        {
            return;
        }

        var batch = new CommandBatch();
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            foreach (int light in lights)
            {
                LightClaim claim = _claims[light];
                if (--claim.Emergencies > 0)
                {
                    continue;
                }

                if (claim.Escorts > 0)
                {
                    claim.LastEscortSent = now;
                    batch.Add(LightModeName.Escort, light);
                }
                else
                {
                    _claims.Remove(light);
                    batch.Add(LightModeName.Release, light);
                }
            }

            Send(batch);
        }
    }

    /// <summary>
    /// Claims the lights of a stored emergency (after a restart, or begun by another instance). With <paramref name="resend"/>
    /// they are commanded again; without, only claimed as commanded now, so that <see cref="EndEmergency"/> can release them.
    /// </summary>
    public void RestoreEmergency(string emergencyId, IReadOnlyList<string> lightIds, bool resend)
    {
        ArgumentNullException.ThrowIfNull(lightIds);
        int[] lights = lightIds
            .Select(id => DeviceIdText.TryParse(id, out uint light) ? _lights.IndexOf(light) : -1)
            .Where(i => i >= 0)
            .ToArray();
        if (!_emergencies.TryAdd(emergencyId, lights))
        {
            return;
        }

        var batch = new CommandBatch();
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            foreach (int light in lights)
            {
                LightClaim claim = ClaimOf(light);
                if (claim.Emergencies++ == 0)
                {
                    // Without a resend, whoever began the emergency has just commanded it: repeated when that expires.
                    claim.LastEmergencySent = now;
                    if (resend)
                    {
                        batch.Add(LightModeName.Emergency, light);
                    }
                }
            }

            Send(batch);
        }
    }

    public bool HasEmergency(string emergencyId) => _emergencies.ContainsKey(emergencyId);

    /// <summary>Drops this instance's claims of an emergency another instance released; nothing is sent.</summary>
    public void ForgetEmergency(string emergencyId)
    {
        if (!_emergencies.TryRemove(emergencyId, out int[]? lights))
        {
            return;
        }

        lock (_gate)
        {
            foreach (int light in lights)
            {
                LightClaim claim = _claims[light];
                if (--claim.Emergencies == 0 && claim.Escorts == 0)
                {
                    _claims.Remove(light);
                }
            }
        }
    }

    /// <summary>
    /// Repeats escort for every held light whose hold would run out before the next look, and emergency for every
    /// blinking light whose last command the gateway has stopped repeating: a gateway that restarted, or a light
    /// that was out of reach, still gets it while the emergency is open.
    /// </summary>
    public void RefreshHeld()
    {
        var batch = new CommandBatch();
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            foreach ((int light, LightClaim claim) in _claims)
            {
                if (claim.Emergencies > 0 && now - claim.LastEmergencySent >= _options.EmergencyCommandExpiry)
                {
                    claim.LastEmergencySent = now;
                    batch.Add(LightModeName.Emergency, light);
                }
                else if (claim.Escorts > 0 && claim.Emergencies == 0 && now - claim.LastEscortSent >= _refreshAfter)
                {
                    claim.LastEscortSent = now;
                    batch.Add(LightModeName.Escort, light);
                }
            }

            Send(batch);
        }
    }

    private void AddAhead(WalkerState walker, double x, double y, HashSet<int> wanted)
    {
        double ahead = _options.AheadMetres;
        double corridor = _options.AheadCorridorMetres;
        if (walker.TryFollowRoute(x, y, _options.OffRouteMetres, out int segment, out double px, out double py))
        {
            double[] rx = walker.RouteX!;
            double[] ry = walker.RouteY!;
            for (int next = segment + 1; next < rx.Length && ahead > 0; next++)
            {
                double length = Planar.Distance(px, py, rx[next], ry[next]);
                double take = Math.Min(length, ahead);
                double ex = length == 0 ? px : px + ((rx[next] - px) * take / length);
                double ey = length == 0 ? py : py + ((ry[next] - py) * take / length);
                _lights.AlongSegment(px, py, ex, ey, corridor, wanted);
                ahead -= take;
                (px, py) = (rx[next], ry[next]);
            }
        }
        else if (walker.HasHeading)
        {
            _lights.AlongSegment(x, y, x + (walker.HeadingX * ahead), y + (walker.HeadingY * ahead), corridor, wanted);
        }
    }

    /// <summary>Moves the walker's claims from what it held to <paramref name="wanted"/> and sends the difference.</summary>
    private void Apply(WalkerState walker, HashSet<int> wanted)
    {
        var batch = new CommandBatch();
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            foreach (int light in walker.Lit)
            {
                if (wanted.Contains(light))
                {
                    LightClaim held = _claims[light];
                    if (held.Emergencies == 0 && now - held.LastEscortSent >= _refreshAfter)
                    {
                        held.LastEscortSent = now;
                        batch.Add(LightModeName.Escort, light);
                    }

                    continue;
                }

                LightClaim claim = _claims[light];
                if (--claim.Escorts == 0 && claim.Emergencies == 0)
                {
                    _claims.Remove(light);
                    batch.Add(LightModeName.Release, light);
                }
            }

            foreach (int light in wanted)
            {
                if (walker.Lit.Contains(light))
                {
                    continue;
                }

                LightClaim claim = ClaimOf(light);
                if (claim.Escorts++ == 0 && claim.Emergencies == 0)
                {
                    claim.LastEscortSent = now;
                    batch.Add(LightModeName.Escort, light);
                }
            }

            walker.Lit = wanted;
            Send(batch);
        }
    }

    private int[] NearestForEmergency(double latitude, double longitude)
    {
        (double x, double y) = LocalProjection.ToMetres(latitude, longitude);
        return _lights.Nearest(x, y, _options.EmergencyLights, _options.EmergencySearchRadiusMetres).ToArray();
    }

    /// <summary>Lets go of a walker's claims without a command (someone else commands its lights now).</summary>
    private void Drop(WalkerState? walker)
    {
        if (walker is null)
        {
            return;
        }

        lock (walker)
        {
            lock (_gate)
            {
                foreach (int light in walker.Lit)
                {
                    LightClaim claim = _claims[light];
                    if (--claim.Escorts == 0 && claim.Emergencies == 0)
                    {
                        _claims.Remove(light);
                    }
                }

                walker.Lit = [];
            }
        }
    }

    private LightClaim ClaimOf(int light)
    {
        if (!_claims.TryGetValue(light, out LightClaim? claim))
        {
            _claims[light] = claim = new LightClaim();
        }

        return claim;
    }

    /// <summary>Publishes a batch as one command per (gateway, mode); called under <see cref="_gate"/>.</summary>
    private void Send(CommandBatch batch)
    {
        if (batch.IsEmpty)
        {
            return;
        }

        DateTimeOffset now = _time.GetUtcNow();
        foreach (((string mode, string gateway), List<string> lights) in batch.ByGateway(_lights))
        {
            bool emergency = mode == LightModeName.Emergency;
            var command = new LightCommandEnvelope(
                RequestIds.Next(),
                mode,
                lights,
                mode == LightModeName.Escort ? _options.HoldSeconds : 0,
                now + (emergency ? _options.EmergencyCommandExpiry : _options.CommandExpiry));
            _publisher.Publish(gateway, command);
        }
    }

    private sealed class LightClaim
    {
        public int Escorts { get; set; }

        public int Emergencies { get; set; }

        public DateTimeOffset LastEscortSent { get; set; }

        public DateTimeOffset LastEmergencySent { get; set; }
    }

    /// <summary>Lights to command, grouped by mode and then by owning gateway.</summary>
    private sealed class CommandBatch
    {
        private readonly List<(string Mode, int Light)> _entries = [];

        public bool IsEmpty => _entries.Count == 0;

        public void Add(string mode, int light) => _entries.Add((mode, light));

        public IEnumerable<((string Mode, string Gateway) Key, List<string> Lights)> ByGateway(StreetlightDirectory lights)
        {
            var groups = new Dictionary<(string, string), List<string>>();
            foreach ((string mode, int light) in _entries)
            {
                var key = (mode, lights[light].GatewayId);
                if (!groups.TryGetValue(key, out List<string>? ids))
                {
                    groups[key] = ids = [];
                }

                ids.Add(lights[light].IdText);
            }

            // Releases first, so a gateway frees lights before it takes new ones.
            return groups.OrderBy(g => g.Key.Item1 == LightModeName.Release ? 0 : 1).Select(g => (g.Key, g.Value));
        }
    }
}
