using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>Where an active walker was last reported (the origin until the first location update).</summary>
public readonly record struct EscortPosition(uint SessionId, GeoPoint Position);

/// <summary>How a request for a session came out.</summary>
public enum EscortLookup
{
    Found,

    /// <summary>No such session for this client (another client's session is not revealed).</summary>
    NotFound,

    /// <summary>The session exists but has ended.</summary>
    Ended,
}

/// <summary>
/// Return-home monitoring sessions (귀가모니터링): started, fed location updates and ended by the app back
/// end, timed out after silence. Each is kept in SQLite and, while active, in memory with the planner, so a
/// restart resumes active sessions and the silence timeout still releases their lights.
/// </summary>
public sealed class EscortSessions
{
    private readonly EscortStore _store;
    private readonly EscortPlanner _planner;
    private readonly EscortOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<uint, ActiveEscort> _active = new();

    public EscortSessions(EscortStore store, EscortPlanner planner, IOptions<EscortOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _planner = planner;
        _options = options.Value;
        _time = time;
    }

    public int ActiveCount => _active.Count;

    /// <summary>Every active session's last reported position, for the control-center map.</summary>
    public IReadOnlyList<EscortPosition> ActivePositions() =>
        _active.Select(a => new EscortPosition(a.Key, a.Value.Position)).ToList();

    public async Task<EscortSessionRecord> StartAsync(
        string client, GeoPoint origin, GeoPoint destination, IReadOnlyList<GeoPoint>? route, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        while (true)
        {
            // The id is also the escort advertisement's device id (protocol §3): 32 random bits.
            uint id = BitConverter.ToUInt32(RandomNumberGenerator.GetBytes(4));
            var session = new EscortSessionRecord(id, client, EscortState.Active, origin, destination, route, now, now, origin, null);
            if (id == 0 || !await _store.TryStartAsync(session, cancellationToken))
            {
                continue;
            }

            var active = new ActiveEscort(client, now, origin);
            _active[id] = active;
            _planner.Begin(id, route);
            _planner.Update(id, origin.Latitude, origin.Longitude);
            return session;
        }
    }

    /// <summary>Records the fixes (oldest first) and moves the walker's lights to the newest.</summary>
    public async Task<(EscortLookup Lookup, int LitLights)> AddLocationsAsync(
        string client, uint sessionId, IReadOnlyList<LocationFix> fixes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fixes);
        if (!_active.TryGetValue(sessionId, out ActiveEscort? active) || active.Client != client)
        {
            return (await LookupEndedAsync(client, sessionId, cancellationToken), 0);
        }

        await active.Gate.WaitAsync(cancellationToken);
        try
        {
            if (active.Ended)
            {
                return (EscortLookup.Ended, 0);
            }

            DateTimeOffset now = _time.GetUtcNow();
            List<LocationFix> ordered = fixes.OrderBy(f => f.At).ToList();
            await _store.RecordLocationsAsync(sessionId, ordered, now, cancellationToken);
            active.LastSeen = now;
            int lit = 0;
            foreach (LocationFix fix in ordered)
            {
                lit = _planner.Update(sessionId, fix.Latitude, fix.Longitude);
            }

            if (ordered.Count > 0)
            {
                active.Position = new GeoPoint(ordered[^1].Latitude, ordered[^1].Longitude);
            }

            return (EscortLookup.Found, lit);
        }
        finally
        {
            active.Gate.Release();
        }
    }

    public async Task<(EscortLookup Lookup, EscortSessionRecord? Session)> EndAsync(
        string client, uint sessionId, string state, CancellationToken cancellationToken)
    {
        if (!_active.TryGetValue(sessionId, out ActiveEscort? active) || active.Client != client)
        {
            EscortLookup lookup = await LookupEndedAsync(client, sessionId, cancellationToken);
            return (lookup, null);
        }

        bool ended = await EndActiveAsync(sessionId, active, state, cancellationToken);
        return ended ? (EscortLookup.Found, await _store.FindAsync(sessionId, cancellationToken)) : (EscortLookup.Ended, null);
    }

    /// <summary>The session if this client owns it; <see cref="EscortLookup.Ended"/> with the record when it is over.</summary>
    public async Task<(EscortLookup Lookup, EscortSessionRecord? Session)> FindAsync(string client, uint sessionId, CancellationToken cancellationToken)
    {
        EscortSessionRecord? session = await _store.FindAsync(sessionId, cancellationToken);
        if (session is null || session.Client != client)
        {
            return (EscortLookup.NotFound, null);
        }

        return (session.State == EscortState.Active && _active.ContainsKey(sessionId) ? EscortLookup.Found : EscortLookup.Ended, session);
    }

    /// <summary>Ends sessions silent for longer than the timeout and repeats escort for lights still held.</summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        foreach ((uint id, ActiveEscort active) in _active)
        {
            if (now - active.LastSeen >= _options.SessionTimeout)
            {
                await EndActiveAsync(id, active, EscortState.TimedOut, cancellationToken);
            }
        }

        _planner.RefreshHeld();
    }

    /// <summary>After a restart: sessions still active in the store are resumed at their last known position.</summary>
    public async Task RestoreAsync(CancellationToken cancellationToken)
    {
        foreach (EscortSessionRecord session in await _store.ListActiveAsync(cancellationToken))
        {
            if (_active.TryAdd(session.SessionId, new ActiveEscort(session.Client, session.LastSeenAt, session.LastPosition)))
            {
                _planner.Begin(session.SessionId, session.Route);
                _planner.Update(session.SessionId, session.LastPosition.Latitude, session.LastPosition.Longitude);
            }
        }
    }

    private async Task<bool> EndActiveAsync(uint sessionId, ActiveEscort active, string state, CancellationToken cancellationToken)
    {
        await active.Gate.WaitAsync(cancellationToken);
        try
        {
            if (active.Ended)
            {
                return false;
            }

            await _store.EndAsync(sessionId, state, _time.GetUtcNow(), cancellationToken);
            active.Ended = true;
            _active.TryRemove(sessionId, out _);
            _planner.End(sessionId);
            return true;
        }
        finally
        {
            active.Gate.Release();
        }
    }

    private async Task<EscortLookup> LookupEndedAsync(string client, uint sessionId, CancellationToken cancellationToken) =>
        (await FindAsync(client, sessionId, cancellationToken)).Lookup switch
        {
            EscortLookup.NotFound => EscortLookup.NotFound,
            _ => EscortLookup.Ended,
        };

    private sealed class ActiveEscort(string client, DateTimeOffset lastSeen, GeoPoint position)
    {
        // Replaced whole (boxed): the map reads it without the gate and must never see half of an update.
        private StrongBox<GeoPoint> _position = new(position);

        public string Client { get; } = client;

        public GeoPoint Position
        {
            get => Volatile.Read(ref _position).Value;
            set => Volatile.Write(ref _position, new StrongBox<GeoPoint>(value));
        }

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public DateTimeOffset LastSeen { get; set; } = lastSeen;

        public bool Ended { get; set; }
    }
}
