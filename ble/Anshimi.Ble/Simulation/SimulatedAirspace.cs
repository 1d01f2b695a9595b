namespace Anshimi.Ble.Simulation;

/// <summary>
/// A deterministic in-process radio. Every participant (<see cref="Join"/>) that advertises transmits once
/// when it starts and then once per interval; <see cref="Pump"/> carries every transmission due up to the
/// time source's now, in time order (ties in join order), to every other participant that is scanning,
/// unless a loss rule drops it. Nothing happens between pumps, so a test that moves a virtual clock and
/// pumps sees the same air on every run. Handlers run on the pumping thread and may change advertising.
/// </summary>
public sealed class SimulatedAirspace(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly List<SimulatedBleTransport> _participants = [];
    private readonly List<AirspaceRule> _rules = [];

    /// <summary>Advertisements transmitted so far (each counted once, however many receivers heard it).</summary>
    public long Transmissions { get; private set; }

    /// <summary>Receptions a loss rule prevented.</summary>
    public long Dropped { get; private set; }

    public TimeProvider Time { get; } = time;

    /// <summary>A new radio at <paramref name="address"/>; receivers hear it at <paramref name="rssi"/> dBm.</summary>
    public SimulatedBleTransport Join(BleAddress address, int rssi = -60)
    {
        var transport = new SimulatedBleTransport(this, address, rssi);
        lock (_lock)
        {
            if (_participants.Any(p => p.Address == address))
            {
                throw new ArgumentException("address " + address + " is already in this airspace", nameof(address));
            }

            _participants.Add(transport);
        }

        return transport;
    }

    public void AddRule(AirspaceRule rule)
    {
        lock (_lock)
        {
            _rules.Add(rule);
        }
    }

    /// <summary>Carries every transmission due by now; returns how many advertisements went out.</summary>
    public int Pump()
    {
        DateTimeOffset now = Time.GetUtcNow();
        int sent = 0;
        while (true)
        {
            List<(SimulatedBleTransport Receiver, BleAdvertisementReport Report)> deliveries;
            lock (_lock)
            {
                SimulatedBleTransport? next = null;
                foreach (SimulatedBleTransport participant in _participants)
                {
                    if (participant.NextTransmission is { } due && due <= now && (next is null || due < next.NextTransmission))
                    {
                        next = participant;
                    }
                }

                if (next is null)
                {
                    return sent;
                }

                DateTimeOffset at = next.NextTransmission!.Value;
                byte[] data = next.AdvertisingData!;
                next.NextTransmission = at + next.AdvertisingInterval;
                Transmissions++;
                sent++;
                deliveries = [];
                foreach (SimulatedBleTransport receiver in _participants)
                {
                    if (receiver == next || !receiver.IsScanning)
                    {
                        continue;
                    }

                    if (_rules.Any(rule => rule.Drops(new AirspaceTransmission(next.Address, receiver.Address, data, at))))
                    {
                        Dropped++;
                        continue;
                    }

                    deliveries.Add((receiver, new BleAdvertisementReport(next.Address, next.Rssi, (byte[])data.Clone(), at)));
                }
            }

            // Outside the lock: a receiver may answer by changing its own advertisement.
            foreach ((SimulatedBleTransport receiver, BleAdvertisementReport report) in deliveries)
            {
                receiver.Receive(report);
            }
        }
    }

    /// <summary>Pumps every <paramref name="period"/> of the time source until cancelled: the airspace in real time.</summary>
    public async Task RunAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period, Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Pump();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    internal void Leave(SimulatedBleTransport transport)
    {
        lock (_lock)
        {
            _participants.Remove(transport);
        }
    }

    internal void Update(Action change)
    {
        lock (_lock)
        {
            change();
        }
    }
}
