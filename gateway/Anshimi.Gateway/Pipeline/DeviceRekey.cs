using System.Collections.Concurrent;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Provisioning;
using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Pipeline;

/// <summary>
/// Asks version-2 devices to move their uplinks to a new key epoch (protocol/README.md §10, "Re-key"): when the installer
/// asks for it (a device suspected of having been recorded or tampered with), and for every device after the store was
/// restored from a backup (<see cref="StoreResynchronisation"/>: the epoch after the one the device's next frame shows,
/// so everything it sent after the backup is stale_epoch). The target is kept in <c>devices.rekey_epoch</c>; the re-key
/// frame (type 8) goes out at once and again, at most every <see cref="GatewayOptions.RekeyRepeatInterval"/>, on every
/// frame of the device that still shows an older epoch, until one shows the new one. A device counts its own wrap
/// without being asked.
/// </summary>
public sealed partial class DeviceRekey(
    DeviceRegistry registry,
    AlarmStore store,
    DownlinkSealer sealer,
    MqttSession mqtt,
    GatewayMetrics metrics,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<DeviceRekey> logger)
{
    /// <summary>The stored target meaning "the epoch after the one the device's next frame shows" (after a restore).</summary>
    public const int AfterNextFrame = 256;

    private const byte LastEpoch = 255;

    /// <summary>Profiles that hear their gateway only over BLE: re-keyed only by their own counter's wrap.</summary>
    public static readonly IReadOnlySet<string> BleOnly = new HashSet<string>(StringComparer.Ordinal) { "battery", "streetlight" };

    private readonly ConcurrentDictionary<uint, DateTimeOffset> _lastSent = new();

    /// <summary>Asks <paramref name="deviceId"/> to move to the epoch after its current one; returns that epoch.</summary>
    public async Task<byte> RequestAsync(uint deviceId, CancellationToken cancellationToken)
    {
        if (!registry.TryGet(deviceId, out DeviceEntry device))
        {
            throw new CommissioningException(404, "not_found", "device " + DeviceIdText.Format(deviceId) + " holds no live key");
        }

        if (BleOnly.Contains(device.Profile))
        {
            throw new CommissioningException(409, "ble_only", device + " hears its gateway only over BLE, where re-keys are not sent: its own counter's wrap re-keys it");
        }

        if (device.FrameVersion != FrameCodecV2.Version)
        {
            throw new CommissioningException(409, "version_1", device + " still speaks frame version 1, which has no key epochs: update its firmware");
        }

        if (device.UplinkEpoch == LastEpoch)
        {
            throw new CommissioningException(409, "last_epoch", device + " is at key epoch 255: claim it again for a new frame key");
        }

        byte epoch = (byte)(device.UplinkEpoch + 1);
        await registry.SetRekeyEpochAsync(device, epoch, cancellationToken);
        LogRequested(logger, device.ToString(), epoch);
        await SendAsync(device, epoch, cancellationToken);
        return epoch;
    }

    /// <summary>
    /// After an authenticated version-2 frame moved the device's epoch (if it was newer): done when it shows the target,
    /// else the re-key again when the last one is older than the repeat interval.
    /// </summary>
    public async Task ObserveAsync(DeviceEntry device, Frame frame, CancellationToken cancellationToken)
    {
        if (device.RekeyEpoch == 0 || frame.Version != FrameCodecV2.Version || BleOnly.Contains(device.Profile))
        {
            return;
        }

        int target = device.RekeyEpoch == AfterNextFrame ? frame.Epoch + 1 : device.RekeyEpoch;
        if (frame.Epoch >= target || target > LastEpoch)
        {
            await registry.SetRekeyEpochAsync(device, 0, cancellationToken);
            _lastSent.TryRemove(device.Id, out _);
            metrics.Rekeyed(frame.Epoch >= target ? "moved" : "last_epoch");
            LogMoved(logger, device.ToString(), frame.Epoch);
            return;
        }

        if (device.RekeyEpoch == AfterNextFrame)
        {
            await registry.SetRekeyEpochAsync(device, target, cancellationToken);
        }

        if (!_lastSent.TryGetValue(device.Id, out DateTimeOffset last) || time.GetUtcNow() - last >= options.Value.RekeyRepeatInterval)
        {
            await SendAsync(device, (byte)target, cancellationToken);
        }
    }

    private async Task SendAsync(DeviceEntry device, byte epoch, CancellationToken cancellationToken)
    {
        uint counter = await store.TakeDownlinkCounterAsync(device.Id, cancellationToken);
        byte[] frame = sealer.Seal(device, new Frame(FrameCodecV2.Version, 0, FrameType.Rekey, device.Id, counter, 0, 0, 0, [epoch]));
        _lastSent[device.Id] = time.GetUtcNow();
        metrics.Rekeyed("sent");

        // Never awaited in the pipeline's one-at-a-time section: a broker away must not hold alarms up. The device's
        // next frame in the old epoch sends it again.
        _ = PublishAsync(device, frame);
    }

    private async Task PublishAsync(DeviceEntry device, byte[] frame)
    {
        try
        {
            using var timeout = new CancellationTokenSource(options.Value.AckTimeout, time);
            await mqtt.PublishAsync(Topics.DeviceDownlink(device.Id), frame, MqttQos.AtLeastOnce, retain: false, timeout.Token);
        }
        catch (Exception ex)
        {
            LogNotPublished(logger, device.ToString(), ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-key of {Device} to key epoch {Epoch} requested")]
    private static partial void LogRequested(ILogger logger, string device, byte epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Device} speaks key epoch {Epoch}: re-key done")]
    private static partial void LogMoved(ILogger logger, string device, byte epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-key to {Device} not published, sent again on its next frame: {Error}")]
    private static partial void LogNotPublished(ILogger logger, string device, string error);
}
