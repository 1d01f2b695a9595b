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
/// Return-home monitoring sessions (귀가모니터링): started, fed location updates and ended by the app back end, timed
/// out after silence. The store is the state: each session's row holds its walk and a version, and every update holds the
/// row while it moves the walk on, so any bridge instance may take any request and two updates of one walk at once run
/// one after the other. The planner keeps a copy of each walk it moved last, taken up again from the row when another
/// instance has moved it since; ending a walk (by the app or by the timeout) is a conditional update that one call wins,
/// and that call releases the lights. A restart resumes active sessions.
/// </summary>
public sealed class EscortSessions
{
    private readonly EscortStore _store;
    private readonly EscortPlanner _planner;
    private readonly EscortOptions _options;
    private readonly TimeProvider _time;

    public EscortSessions(EscortStore store, EscortPlanner planner, IOptions<EscortOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _planner = planner;
        _options = options.Value;
        _time = time;
    }

    /// <summary>Every active session's last reported position, whichever instance took it, for the control-center map.</summary>
    public Task<IReadOnlyList<EscortPosition>> ActivePositionsAsync(CancellationToken cancellationToken) => _store.ListActivePositionsAsync(cancellationToken);

    public async Task<EscortSessionRecord> StartAsync(
        string client, GeoPoint origin, GeoPoint destination, IReadOnlyList<GeoPoint>? route, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        while (true)
        {
            // The id is also the escort advertisement's device id (protocol §3): 32 random bits.
            uint id = BitConverter.ToUInt32(RandomNumberGenerator.GetBytes(4));
            if (id == 0 || _planner.IsWalking(id))
            {
                continue;
            }

            _planner.Resume(id, route, walk: null, version: 0);
            _planner.Update(id, origin.Latitude, origin.Longitude);
            var session = new EscortSessionRecord(
                id, client, EscortState.Active, origin, destination, route, now, now, origin, null, Version: 0, Walk: _planner.Commit(id, 0));
            if (await _store.TryStartAsync(session, cancellationToken))
            {
                return session;
            }

            // The id is another instance's walk: let go of what this one lit for it and draw again.
            _planner.End(id);
        }
    }

    /// <summary>Records the fixes (oldest first) and moves the walker's lights to the newest.</summary>
    public async Task<(EscortLookup Lookup, int LitLights)> AddLocationsAsync(
        string client, uint sessionId, IReadOnlyList<LocationFix> fixes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fixes);
        ArgumentOutOfRangeException.ThrowIfZero(fixes.Count);

        List<LocationFix> ordered = fixes.OrderBy(f => f.At).ToList();
        int lit = 0;
        long? version = await _store.AdvanceWalkAsync(
            sessionId, client, ordered, _time.GetUtcNow(), _planner.VersionOf(sessionId) ?? -1,
            row =>
            {
                if (_planner.VersionOf(sessionId) != row.Version - 1)
                {
                    // Another instance moved this walk on (or this one never had it): take it up where the row has it.
                    _planner.Resume(sessionId, row.RouteIncluded ? row.Route : null, row.Walk, row.Version - 1);
                }

                foreach (LocationFix fix in ordered)
                {
                    lit = _planner.Update(sessionId, fix.Latitude, fix.Longitude);
                }

                return _planner.Commit(sessionId, row.Version)!;
            },
            cancellationToken);
        return version is null ? (await LookupEndedAsync(client, sessionId, cancellationToken), 0) : (EscortLookup.Found, lit);
    }

    public async Task<(EscortLookup Lookup, EscortSessionRecord? Session)> EndAsync(
        string client, uint sessionId, string state, CancellationToken cancellationToken)
    {
        (EscortLookup lookup, EscortSessionRecord? _) = await FindAsync(client, sessionId, cancellationToken);
        if (lookup != EscortLookup.Found || !await _store.EndAsync(sessionId, state, _time.GetUtcNow(), cancellationToken))
        {
            return (lookup == EscortLookup.NotFound ? EscortLookup.NotFound : EscortLookup.Ended, null);
        }

        return (EscortLookup.Found, await ReleaseEndedAsync(sessionId, cancellationToken));
    }

    /// <summary>The session if this client owns it; <see cref="EscortLookup.Ended"/> with the record when it is over.</summary>
    public async Task<(EscortLookup Lookup, EscortSessionRecord? Session)> FindAsync(string client, uint sessionId, CancellationToken cancellationToken)
    {
        EscortSessionRecord? session = await _store.FindAsync(sessionId, cancellationToken);
        if (session is null || session.Client != client)
        {
            return (EscortLookup.NotFound, null);
        }

        return (session.State == EscortState.Active ? EscortLookup.Found : EscortLookup.Ended, session);
    }

    /// <summary>
    /// Ends sessions silent for longer than the timeout (each on the one instance whose update ended it), drops the copies
    /// of walks another instance has moved on or ended, and repeats escort for lights still held.
    /// </summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        foreach (uint id in await _store.EndSilentAsync(now - _options.SessionTimeout, now, cancellationToken))
        {
            await ReleaseEndedAsync(id, cancellationToken);
        }

        Dictionary<uint, long> active = await _store.ActiveVersionsAsync(cancellationToken);
        foreach ((uint id, long version) in _planner.Walks())
        {
            // A copy ahead of the row is an update still committing here; one behind was moved on elsewhere.
            if (!active.TryGetValue(id, out long stored) || stored > version)
            {
                _planner.Forget(id);
            }
        }

        _planner.RefreshHeld();
    }

    /// <summary>After a restart: sessions still active in the store are resumed where their last update left them.</summary>
    public async Task RestoreAsync(CancellationToken cancellationToken)
    {
        foreach (EscortSessionRecord session in await _store.ListActiveAsync(cancellationToken))
        {
            _planner.Resume(session.SessionId, session.Route, session.Walk, session.Version);
            if (session.Walk is null)
            {
                // Stored before walks were: planned afresh at the last known position.
                _planner.Update(session.SessionId, session.LastPosition.Latitude, session.LastPosition.Longitude);
            }
        }
    }

    /// <summary>A session this instance ended: its lights, as its last update left them, go back to their schedule.</summary>
    private async Task<EscortSessionRecord?> ReleaseEndedAsync(uint sessionId, CancellationToken cancellationToken)
    {
        EscortSessionRecord? session = await _store.FindAsync(sessionId, cancellationToken);
        if (session is not null && _planner.VersionOf(sessionId) != session.Version)
        {
            _planner.Resume(sessionId, session.Route, session.Walk, session.Version);
        }

        _planner.End(sessionId);
        return session;
    }

    private async Task<EscortLookup> LookupEndedAsync(string client, uint sessionId, CancellationToken cancellationToken) =>
        (await FindAsync(client, sessionId, cancellationToken)).Lookup switch
        {
            EscortLookup.NotFound => EscortLookup.NotFound,
            _ => EscortLookup.Ended,
        };
}
