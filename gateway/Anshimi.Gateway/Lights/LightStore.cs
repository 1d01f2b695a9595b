using Anshimi.Gateway.Storage;
using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Lights;

/// <summary>What the gateway last heard from a streetlight's beacon.</summary>
public sealed record LightState(byte Mode, byte Level, bool LampFault, uint BeaconCounter, DateTimeOffset HeardAt);

public enum BeaconAcceptance
{
    Accepted,

    /// <summary>The same signed beacon again (a light advertises each beacon many times): no news, not a replay.</summary>
    Repeat,
    Replayed,
}

/// <summary>
/// Streetlight state in its own table, <c>light_state</c>: the gateway's downlink counter per light and the last
/// beacon heard. Downlink counters are reserved in blocks (one durable write per <see cref="CounterBlock"/> commands)
/// and a restart continues above the last reservation, so a light never sees a counter twice. Beacon state and
/// its replay floor are written in batches (<see cref="FlushAsync"/>): a crash can only make them lag.
/// </summary>
public sealed class LightStore(GatewayDatabase database)
{
    public const uint CounterBlock = 64;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS light_state (
            light_id          INTEGER PRIMARY KEY,
            downlink_reserved INTEGER NOT NULL DEFAULT 0,
            beacon_counter    INTEGER NOT NULL DEFAULT 0,
            mode              INTEGER,
            level             INTEGER,
            lamp_fault        INTEGER,
            heard_at          INTEGER
        );
        """;

    private readonly SemaphoreSlim _loadGate = new(1, 1);
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Entry> _lights = [];
    private readonly HashSet<uint> _dirty = [];
    private bool _loaded;

    /// <summary>Creates the table and loads it; idempotent, and done on first use.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }

        await _loadGate.WaitAsync(cancellationToken);
        try
        {
            if (_loaded)
            {
                return;
            }

            await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
            await using (SqliteCommand create = connection.CreateCommand())
            {
                create.CommandText = Schema;
                await create.ExecuteNonQueryAsync(cancellationToken);
            }

            await using SqliteCommand select = connection.CreateCommand();
            select.CommandText = "SELECT light_id, downlink_reserved, beacon_counter, mode, level, lamp_fault, heard_at FROM light_state;";
            await using SqliteDataReader reader = await select.ExecuteReaderAsync(cancellationToken);
            lock (_lock)
            {
                while (reader.Read())
                {
                    uint reserved = (uint)reader.GetInt64(1);
                    var entry = new Entry { Reserved = reserved, Next = reserved + 1, BeaconCounter = (uint)reader.GetInt64(2) };
                    if (!reader.IsDBNull(6))
                    {
                        entry.State = new LightState((byte)reader.GetInt32(3), (byte)reader.GetInt32(4), reader.GetInt32(5) != 0, entry.BeaconCounter, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)));
                    }

                    _lights[(uint)reader.GetInt64(0)] = entry;
                }
            }

            _loaded = true;
        }
        finally
        {
            _loadGate.Release();
        }
    }

    /// <summary>
    /// The next downlink counter for a light, never one used before, also across restarts. With
    /// <paramref name="nextLightBlock"/> it is the first of the light's next command block (protocol/README.md §2): a light
    /// that lost power refuses the rest of the block it last wrote to flash.
    /// </summary>
    public async Task<uint> TakeDownlinkCounterAsync(uint lightId, CancellationToken cancellationToken, bool nextLightBlock = false)
    {
        await LoadAsync(cancellationToken);
        uint reserveTo;
        lock (_lock)
        {
            Entry entry = GetOrAdd(lightId);
            if (nextLightBlock && entry.Next > 1)
            {
                entry.Next = Math.Max(entry.Next, Anshimi.Protocol.CounterBlock.NextStart(entry.Next - 1, Anshimi.Protocol.CounterBlock.LightCommand));
            }

            if (entry.Next <= entry.Reserved)
            {
                return entry.Next++;
            }

            reserveTo = Math.Max(entry.Reserved, entry.Next - 1) + CounterBlock;
        }

        // Durable before any counter of the new block goes on air.
        await using (SqliteConnection connection = await database.OpenAsync(cancellationToken))
        await using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = """
                INSERT INTO light_state (light_id, downlink_reserved) VALUES ($id, $reserved)
                ON CONFLICT (light_id) DO UPDATE SET downlink_reserved = max(downlink_reserved, excluded.downlink_reserved);
                """;
            command.Parameters.AddWithValue("$id", (long)lightId);
            command.Parameters.AddWithValue("$reserved", (long)reserveTo);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        lock (_lock)
        {
            Entry entry = GetOrAdd(lightId);
            entry.Reserved = Math.Max(entry.Reserved, reserveTo);
            return entry.Next++;
        }
    }

    /// <summary>
    /// Applies an authentic beacon if its counter is new; repeats and replays change nothing. The first beacon of a key
    /// epoch the light has just moved to (<paramref name="newEpoch"/>, protocol/README.md §10) starts the floor afresh:
    /// after its wrap the light counts from 1 again.
    /// </summary>
    public async Task<BeaconAcceptance> AcceptBeaconAsync(uint lightId, uint counter, byte mode, byte level, bool lampFault, bool newEpoch, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        lock (_lock)
        {
            Entry entry = GetOrAdd(lightId);
            if (counter == entry.BeaconCounter && counter != 0 && !newEpoch)
            {
                return BeaconAcceptance.Repeat;
            }

            if (counter <= entry.BeaconCounter && !newEpoch)
            {
                return BeaconAcceptance.Replayed;
            }

            entry.BeaconCounter = counter;
            entry.State = new LightState(mode, level, lampFault, counter, at);
            _dirty.Add(lightId);
            return BeaconAcceptance.Accepted;
        }
    }

    public LightState? Get(uint lightId)
    {
        lock (_lock)
        {
            return _lights.TryGetValue(lightId, out Entry? entry) ? entry.State : null;
        }
    }

    /// <summary>Writes the beacon state heard since the last flush in one transaction.</summary>
    public async Task<int> FlushAsync(CancellationToken cancellationToken)
    {
        List<(uint Id, LightState State)> batch;
        lock (_lock)
        {
            batch = [.. _dirty.Select(id => (id, _lights[id].State!))];
            _dirty.Clear();
        }

        if (batch.Count == 0)
        {
            return 0;
        }

        try
        {
            await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
            await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
            await using SqliteCommand command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO light_state (light_id, beacon_counter, mode, level, lamp_fault, heard_at) VALUES ($id, $counter, $mode, $level, $fault, $at)
                ON CONFLICT (light_id) DO UPDATE SET beacon_counter = max(beacon_counter, excluded.beacon_counter),
                    mode = excluded.mode, level = excluded.level, lamp_fault = excluded.lamp_fault, heard_at = excluded.heard_at
                WHERE excluded.beacon_counter >= light_state.beacon_counter;
                """;
            SqliteParameter id = command.Parameters.Add("$id", SqliteType.Integer);
            SqliteParameter counter = command.Parameters.Add("$counter", SqliteType.Integer);
            SqliteParameter mode = command.Parameters.Add("$mode", SqliteType.Integer);
            SqliteParameter level = command.Parameters.Add("$level", SqliteType.Integer);
            SqliteParameter fault = command.Parameters.Add("$fault", SqliteType.Integer);
            SqliteParameter at = command.Parameters.Add("$at", SqliteType.Integer);
            foreach ((uint lightId, LightState state) in batch)
            {
                id.Value = (long)lightId;
                counter.Value = (long)state.BeaconCounter;
                mode.Value = (int)state.Mode;
                level.Value = (int)state.Level;
                fault.Value = state.LampFault ? 1 : 0;
                at.Value = state.HeardAt.ToUnixTimeMilliseconds();
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        catch
        {
            lock (_lock)
            {
                foreach ((uint lightId, _) in batch)
                {
                    _dirty.Add(lightId);
                }
            }

            throw;
        }

        return batch.Count;
    }

    private Entry GetOrAdd(uint lightId)
    {
        if (!_lights.TryGetValue(lightId, out Entry? entry))
        {
            entry = new Entry { Next = 1 };
            _lights[lightId] = entry;
        }

        return entry;
    }

    private sealed class Entry
    {
        public uint Reserved { get; set; }

        public uint Next { get; set; }

        public uint BeaconCounter { get; set; }

        public LightState? State { get; set; }
    }
}
