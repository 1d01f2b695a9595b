using System.Globalization;
using Anshimi.Gateway.Ble;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Lights;

/// <summary>
/// Carries the cloud's escort key records to the streetlights (protocol/README.md §10.1): each record goes to each listed
/// light as 13 version-2 downlinks of type 9 (escort key part) sealed under the light's downlink keys, one part at a time
/// in the background of the broadcast rotation, each part with the next downlink counter of the light, cycling until the
/// light's beacon shows the record's epoch. A light given two rotations at once (a new box during a changeover) gets
/// the older first. A light heard only in version 1 so far waits: it cannot open a type-9 part. Deliveries live in
/// memory: the cloud sends the records again (protocol/README.md §10.1).
/// </summary>
public sealed partial class EscortKeyDelivery(
    DeviceRegistry registry,
    LightStore store,
    BleBroadcaster broadcaster,
    [FromKeyedServices(CloudLink.SessionKey)] MqttSession mqtt,
    IOptions<GatewayOptions> gateway,
    BleMetrics metrics,
    RejectLog rejectLog,
    DownlinkSealer sealer,
    TimeProvider time,
    ILogger<EscortKeyDelivery> logger)
{
    public const string BadEscortKeys = "bad_escort_keys";

    /// <summary>A background part is refreshed at least this often, so an idle rotation keeps it on air.</summary>
    private static readonly TimeSpan PartLifetime = TimeSpan.FromMinutes(5);

    private readonly Lock _lock = new();
    private readonly Dictionary<uint, List<Delivery>> _pending = [];
    private readonly Dictionary<uint, int> _heldEpoch = [];
    private readonly Dictionary<uint, long> _heldRotation = [];
    private readonly Queue<EscortKeysReceiptEnvelope> _receipts = new();

    /// <summary>Lights with an escort key record not yet shown by their beacon.</summary>
    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    public static string SlotKey(uint lightId) => "escortkey:" + DeviceIdText.Format(lightId);

    /// <summary>Takes the records of one rotation and receipts the envelope; bad entries are counted and dropped.</summary>
    public async Task SubmitAsync(EscortKeysEnvelope envelope, CancellationToken cancellationToken)
    {
        foreach (EscortAreaKey key in envelope.Keys)
        {
            if (!TryParseRecord(key, out byte[] record))
            {
                Reject(BadEscortKeys, "rotation " + envelope.Rotation + " area " + key.Area);
                continue;
            }

            foreach (string lightText in key.Lights.Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (!DeviceIdText.TryParse(lightText, out uint lightId) || !registry.TryGet(lightId, out DeviceEntry light) ||
                    !string.Equals(light.Profile, LightFanout.LightProfile, StringComparison.Ordinal))
                {
                    Reject(BadEscortKeys, "rotation " + envelope.Rotation + " names " + lightText + ", not a light of this gateway");
                    continue;
                }

                Enqueue(light, envelope.Rotation, record);
            }
        }

        lock (_lock)
        {
            _receipts.Enqueue(new EscortKeysReceiptEnvelope(gateway.Value.Id, envelope.Rotation));
        }

        await PublishReceiptsAsync(cancellationToken);
    }

    /// <summary>An authentic version-2 beacon from <paramref name="lightId"/> shows escort key <paramref name="epoch"/> (−1: none).</summary>
    public void OnBeacon(uint lightId, int epoch)
    {
        lock (_lock)
        {
            _heldEpoch[lightId] = epoch;
            if (!_pending.TryGetValue(lightId, out List<Delivery>? deliveries))
            {
                return;
            }

            int held = deliveries.FindIndex(delivery => delivery.Epoch == epoch);
            if (held < 0)
            {
                return;
            }

            // The light holds this record: it and every older one are done.
            _heldRotation[lightId] = deliveries[held].Rotation;
            deliveries.RemoveRange(0, held + 1);
            LogInstalled(logger, DeviceIdText.Format(lightId), epoch);
            if (deliveries.Count == 0)
            {
                _pending.Remove(lightId);
                broadcaster.Remove(SlotKey(lightId));
            }
        }
    }

    /// <summary>Puts the next part on air for every light whose last part has been on air, and publishes receipts not yet out.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        List<(DeviceEntry Light, Delivery Delivery, int Part)> due = [];
        lock (_lock)
        {
            foreach ((uint lightId, List<Delivery> deliveries) in _pending)
            {
                Delivery head = deliveries[0];
                if (!registry.TryGet(lightId, out DeviceEntry light) || light.FrameVersion != FrameCodecV2.Version)
                {
                    continue;
                }

                if (!head.Started || broadcaster.HasAired(SlotKey(lightId)) || !broadcaster.TryGetTag(SlotKey(lightId), out _))
                {
                    due.Add((light, head, head.NextPart));
                    head.NextPart = (head.NextPart + 1) % EscortKeyRecord.PartCount;
                    head.Started = true;
                }
            }
        }

        foreach ((DeviceEntry light, Delivery delivery, int part) in due)
        {
            uint counter = await store.TakeDownlinkCounterAsync(light.Id, cancellationToken);
            byte[] frame = sealer.Seal(light, new Frame(FrameType.EscortKeyPart, light.Id, counter, ContactIdCode.None, ContactIdQualifier.None, 0, EscortKeyRecord.Part(delivery.Record, part)));
            var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
            int length = BleAdvertisement.Write(frame, 0, frame.Length, withFlags: false, advertisement, 0);
            lock (_lock)
            {
                if (_pending.TryGetValue(light.Id, out List<Delivery>? deliveries) && deliveries[0] == delivery)
                {
                    broadcaster.PutBackground(SlotKey(light.Id), advertisement[..length], time.GetUtcNow() + PartLifetime);
                }
            }

            metrics.Advertised("escort-key-part");
        }

        await PublishReceiptsAsync(cancellationToken);
    }

    private void Enqueue(DeviceEntry light, long rotation, byte[] record)
    {
        byte epoch = EscortKeyRecord.ReadEpoch(record, 0);
        lock (_lock)
        {
            _pending.TryGetValue(light.Id, out List<Delivery>? deliveries);
            if (_heldEpoch.TryGetValue(light.Id, out int held) && held == epoch)
            {
                // The light holds this rotation's key already: an older rotation would only take its place as current.
                _heldRotation[light.Id] = rotation;
                if (deliveries is not null && deliveries.RemoveAll(delivery => delivery.Rotation <= rotation) > 0 && deliveries.Count == 0)
                {
                    _pending.Remove(light.Id);
                    broadcaster.Remove(SlotKey(light.Id));
                }

                return;
            }

            if (_heldRotation.TryGetValue(light.Id, out long newest) && rotation <= newest)
            {
                return;
            }

            if (deliveries is null)
            {
                deliveries = [];
                _pending[light.Id] = deliveries;
            }

            if (deliveries.Any(delivery => delivery.Rotation == rotation))
            {
                // The cloud resent the rotation: it is already on its way.
                return;
            }

            deliveries.Add(new Delivery(rotation, epoch, record));
            deliveries.Sort((a, b) => a.Rotation.CompareTo(b.Rotation));

            // A light needs at most the previous and the current rotation's keys.
            if (deliveries.Count > 2)
            {
                deliveries.RemoveRange(0, deliveries.Count - 2);
            }

            LogQueued(logger, DeviceIdText.Format(light.Id), rotation, epoch);
        }
    }

    private static bool TryParseRecord(EscortAreaKey key, out byte[] record)
    {
        record = [];
        if (!EscortKeySchedule.TryParseArea(key.Area, out ushort area) || key.RecordHex is null || key.RecordHex.Length != EscortKeyRecord.Length * 2)
        {
            return false;
        }

        try
        {
            record = Convert.FromHexString(key.RecordHex);
        }
        catch (FormatException)
        {
            return false;
        }

        return EscortKeyRecord.ReadArea(record, 0) == area;
    }

    private void Reject(string reason, string detail)
    {
        metrics.Gateway.CommandRejected(reason);
        rejectLog.Report(reason, detail);
    }

    private async Task PublishReceiptsAsync(CancellationToken cancellationToken)
    {
        string topic = Topics.GatewayEvents(gateway.Value.Id);
        while (true)
        {
            EscortKeysReceiptEnvelope? next;
            lock (_lock)
            {
                if (!_receipts.TryPeek(out next))
                {
                    return;
                }
            }

            try
            {
                await mqtt.PublishAsync(topic, EnvelopeSerializer.Serialize(next), MqttQos.AtLeastOnce, retain: false, cancellationToken);
            }
            catch (MqttTransportException ex)
            {
                // The cloud sends the rotation again until it has the receipt; the next tick tries too.
                LogReceiptNotPublished(logger, next.Rotation, ex.Message);
                return;
            }

            lock (_lock)
            {
                _receipts.Dequeue();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Escort key of rotation {Rotation} (epoch {Epoch}) queued for light {LightId}")]
    private static partial void LogQueued(ILogger logger, string lightId, long rotation, byte epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Light {LightId} holds escort key epoch {Epoch}")]
    private static partial void LogInstalled(ILogger logger, string lightId, int epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Escort keys receipt for rotation {Rotation} not published yet: {Error}")]
    private static partial void LogReceiptNotPublished(ILogger logger, long rotation, string error);

    private sealed class Delivery(long rotation, byte epoch, byte[] record)
    {
        public long Rotation { get; } = rotation;

        public byte Epoch { get; } = epoch;

        public byte[] Record { get; } = record;

        public int NextPart { get; set; }

        /// <summary>Whether a part of this record has been put on air.</summary>
        public bool Started { get; set; }
    }
}
