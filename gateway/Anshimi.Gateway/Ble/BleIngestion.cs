using Anshimi.Ble;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Lights;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Supervision;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Ble;

/// <summary>
/// What the gateway does with each advertisement it hears (protocol/README.md §7, §10): finds the Anshimi frame,
/// authenticates it against the registry (version 2: resolves its id against every device's key), and then — streetlight beacons update the light's state and confirm
/// light commands; alarms and heartbeats of bells go into the same <see cref="AlarmPipeline"/> as MQTT, and an
/// alarm is answered with a signed ack in the gateway's own advertisement. Everything else is dropped and counted
/// by reason; nothing that fails a check changes stored state. Called by one consumer at a time.
/// </summary>
public sealed class BleIngestion(
    DeviceRegistry registry,
    AlarmPipeline pipeline,
    AlarmStore alarms,
    LightStore lights,
    LightFanout fanout,
    Firmware.LightCarousel carousel,
    EscortKeyDelivery escortKeys,
    BleBroadcaster broadcaster,
    UplinkAuthenticator authenticator,
    DownlinkSealer sealer,
    SupervisionTracker supervision,
    Health.DeviceHealthTracker health,
    BleMetrics metrics,
    RejectLog rejectLog,
    IOptions<BleOptions> options,
    TimeProvider time)
{
    /// <summary>AD structures whose lengths run past the data, or a zero-length structure.</summary>
    public const string MalformedAdvertisement = "malformed_ad";

    /// <summary>Well-formed advertising data without our company's frame (phones, other beacons): normal traffic, not logged.</summary>
    public const string Foreign = "foreign";

    /// <summary>The same signed beacon or heartbeat again, or an alarm whose ack is already on air.</summary>
    public const string Repeat = "repeat";

    public const string Beacon = "beacon";
    public const string Alarm = "alarm";
    public const string Duplicate = "duplicate";
    public const string Heartbeat = "heartbeat";

    private readonly FrameCodec _codec = new(new PlatformHmacSha256());

    public static string AckSlotKey(uint deviceId) => "ack:" + DeviceIdText.Format(deviceId);

    /// <summary>Handles one heard advertisement and returns its result (the metric label).</summary>
    public async Task<string> HandleAsync(BleAdvertisementReport report, CancellationToken cancellationToken)
    {
        string result = await ClassifyAsync(report, cancellationToken);
        metrics.Frame(result);
        return result;
    }

    private static bool IsWellFormed(byte[] data)
    {
        int at = 0;
        while (at < data.Length)
        {
            int length = data[at];
            if (length == 0)
            {
                // Early termination (Core Specification Vol 3 Part C §11): what follows is padding, not structures.
                return true;
            }

            if (at + 1 + length > data.Length)
            {
                return false;
            }

            at += 1 + length;
        }

        return data.Length > 0;
    }

    private async Task<string> ClassifyAsync(BleAdvertisementReport report, CancellationToken cancellationToken)
    {
        byte[] data = report.Data;
        if (!IsWellFormed(data))
        {
            return Reject(MalformedAdvertisement, report, "advertising data " + Convert.ToHexString(data));
        }

        if (!BleAdvertisement.TryFindFrame(data, 0, data.Length, out int offset, out int length))
        {
            return Foreign;
        }

        byte[] frameBytes = data.AsSpan(offset, length).ToArray();
        if (Protocol.Ota.CarouselPiece.IsPiece(frameBytes, 0, frameBytes.Length))
        {
            // A light's firmware report (protocol/README.md §11.9): no device frame, its own signed piece.
            (string result, string? problem) = await carousel.HearAsync(frameBytes, cancellationToken);
            return problem is null ? result : Reject(result, report, problem);
        }

        if (FrameCodecV2.IsVersion2(frameBytes, 0, frameBytes.Length))
        {
            // No device id in clear: the id resolves under one device's key or under none (protocol/README.md §10).
            if (!authenticator.TryResolve(frameBytes, out Frame? opened, out DeviceEntry? owner, out UplinkRejection rejection))
            {
                return Reject(rejection.Reason, report, rejection.Detail);
            }

            return await DispatchAsync(owner, opened, frameBytes, report, cancellationToken);
        }

        FrameReadResult structure = FrameCodec.ReadUnverified(frameBytes, 0, frameBytes.Length);
        if (!structure.IsOk)
        {
            return Reject(FrameErrorName.Of(structure.Error), report, Convert.ToHexString(frameBytes));
        }

        Frame unverified = structure.Frame!;
        if (!FrameDirection.IsTowardGateway(unverified.Type))
        {
            // Another gateway's command or ack, or an app's escort: not for a gateway, and never a device to look up.
            return Reject(FrameErrorName.Of(FrameError.WrongDirection), report, "frame type " + (int)unverified.Type);
        }

        if (!registry.TryGet(unverified.DeviceId, out DeviceEntry device))
        {
            return Reject(FrameErrorName.Of(FrameError.UnknownDevice), report, DeviceIdText.Format(unverified.DeviceId));
        }

        FrameReadResult verified = _codec.Decode(frameBytes, 0, frameBytes.Length, device.Key);
        if (!verified.IsOk)
        {
            return Reject(FrameErrorName.Of(verified.Error), report, device.ToString());
        }

        return await DispatchAsync(device, verified.Frame!, frameBytes, report, cancellationToken);
    }

    private async Task<string> DispatchAsync(DeviceEntry device, Frame frame, byte[] frameBytes, BleAdvertisementReport report, CancellationToken cancellationToken)
    {
        return frame.Type switch
        {
            FrameType.Beacon => await HandleBeaconAsync(device, frame, report, cancellationToken),
            FrameType.Alarm => await HandleAlarmAsync(device, frame, frameBytes, report, cancellationToken),
            FrameType.Heartbeat => await HandleHeartbeatAsync(device, frame, frameBytes, report, cancellationToken),
            _ => Reject(AlarmPipeline.UnexpectedType, report, device + " sent frame type " + (int)frame.Type + " over BLE"),
        };
    }

    private async Task<string> HandleBeaconAsync(DeviceEntry device, Frame frame, BleAdvertisementReport report, CancellationToken cancellationToken)
    {
        if (!string.Equals(device.Profile, LightFanout.LightProfile, StringComparison.Ordinal))
        {
            return Reject(AlarmPipeline.UnexpectedType, report, device + " sent a streetlight beacon");
        }

        byte epochBefore = device.UplinkEpoch;
        string? refused = await pipeline.NoteVersionAsync(device, frame, cancellationToken);
        if (refused is not null)
        {
            return Reject(refused, report, device + " sent version " + frame.Version);
        }

        byte mode = FramePayloads.BeaconMode(frame);
        DateTimeOffset now = time.GetUtcNow();
        BeaconAcceptance acceptance = await lights.AcceptBeaconAsync(
            device.Id, frame.Counter, mode, FramePayloads.BeaconLevel(frame), FramePayloads.BeaconHasLampFault(frame), frame.Epoch > epochBefore, now, cancellationToken);
        switch (acceptance)
        {
            case BeaconAcceptance.Repeat:
                return Repeat;
            case BeaconAcceptance.Replayed:
                return Reject(FrameErrorName.Of(FrameError.Replayed), report, device + " beacon " + frame.Counter);
        }

        health.SetLampFault(device.Id, FramePayloads.BeaconHasLampFault(frame));

        // Only a new counter counts as hearing the light: a recorded beacon cannot hide a dead one. The registry
        // writes last seen (and this counter as the light's uplink floor) with its batched heartbeats.
        registry.RecordHeartbeat(device, frame.Counter, now);
        supervision.Heard(device);
        fanout.OnBeacon(device.Id, mode);
        if (frame.Version == FrameCodecV2.Version)
        {
            escortKeys.OnBeacon(device.Id, FramePayloads.BeaconEscortEpoch(frame));
        }

        return Beacon;
    }

    private async Task<string> HandleAlarmAsync(DeviceEntry device, Frame frame, byte[] frameBytes, BleAdvertisementReport report, CancellationToken cancellationToken)
    {
        // A bell repeats its burst until it hears our ack; while that ack is on air a repeat needs no new one.
        if (broadcaster.TryGetTag(AckSlotKey(device.Id), out uint ackedCounter) && ackedCounter == frame.Counter)
        {
            return Repeat;
        }

        UplinkResult result = await pipeline.HandleUplinkAsync(Topics.DeviceUplink(device.Id), frameBytes, cancellationToken);
        if (result.Outcome is not (UplinkOutcome.Accepted or UplinkOutcome.Duplicate))
        {
            return ResultOf(result);
        }

        // Stored (now or before): answer on the path the bell used, with a downlink counter it has not seen.
        uint downlinkCounter = await alarms.TakeDownlinkCounterAsync(device.Id, cancellationToken);
        byte[] ack = sealer.Seal(device, Frame.Ack(device.Id, downlinkCounter, frame.Counter, AckStage.Received));
        var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(ack, 0, ack.Length, withFlags: false, advertisement, 0);
        broadcaster.Put(AckSlotKey(device.Id), advertisement[..length], time.GetUtcNow() + options.Value.AckAirTime, frame.Counter);
        metrics.Advertised("ack");
        return result.Outcome == UplinkOutcome.Accepted ? Alarm : Duplicate;
    }

    private async Task<string> HandleHeartbeatAsync(DeviceEntry device, Frame frame, byte[] frameBytes, BleAdvertisementReport report, CancellationToken cancellationToken)
    {
        if (frame.Counter != 0 && frame.Counter == device.HeartbeatCounter)
        {
            return Repeat;
        }

        UplinkResult result = await pipeline.HandleUplinkAsync(Topics.DeviceUplink(device.Id), frameBytes, cancellationToken);
        return result.Outcome == UplinkOutcome.Heartbeat ? Heartbeat : ResultOf(result);
    }

    /// <summary>The pipeline already counted and logged its own rejects; here they only get the BLE label.</summary>
    private static string ResultOf(UplinkResult result) => result.Reason ?? AlarmPipeline.StoreFailed;

    private string Reject(string reason, BleAdvertisementReport report, string detail)
    {
        rejectLog.Report(reason, "BLE from " + report.Address + ": " + detail);
        return reason;
    }
}
