using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Firmware;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Lights;
using Anshimi.Gateway.Snapshots;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Upstream;

/// <summary>
/// Envelopes from the cloud bridge on the gateway's commands topic: alarm receipts clear the outbox,
/// operator acknowledgements go to the bell, light commands to the streetlight fan-out, escort keys to the lights, firmware offers, parts and
/// cancels to the firmware distribution. Malformed or unknown envelopes are counted and dropped.
/// </summary>
public sealed partial class CloudCommands(
    AlarmStore store,
    OperatorAckRelay relay,
    TroubleOutbox troubles,
    LightFanout lights,
    EscortKeyDelivery escortKeys,
    FirmwareDistribution firmware,
    SnapshotAssembler snapshots,
    DeviceStatusReporter statuses,
    GatewayMetrics metrics,
    RejectLog rejectLog,
    TimeProvider time,
    ILogger<CloudCommands> logger)
{
    public const string Malformed = "malformed";
    public const string UnexpectedKind = "unexpected_kind";

    public async Task HandleAsync(byte[] payload, CancellationToken cancellationToken)
    {
        if (!EnvelopeSerializer.TryParse(payload, out Envelope? envelope, out string error))
        {
            metrics.CommandRejected(Malformed);
            rejectLog.Report(Malformed, error);
            return;
        }

        switch (envelope)
        {
            case AlarmReceiptEnvelope receipt:
                await ApplyReceiptAsync(receipt, cancellationToken);
                break;
            case OperatorAckEnvelope ack:
                await relay.RelayAsync(ack, cancellationToken);
                break;
            case LightCommandEnvelope lightCommand:
                await lights.SubmitAsync(lightCommand, cancellationToken);
                break;
            case EscortKeysEnvelope keys:
                await escortKeys.SubmitAsync(keys, cancellationToken);
                break;
            case FirmwareOfferEnvelope offer:
                await firmware.OfferAsync(offer, cancellationToken);
                break;
            case FirmwarePartEnvelope part:
                await firmware.PartAsync(part, cancellationToken);
                break;
            case FirmwareCancelEnvelope cancel:
                await firmware.CancelAsync(cancel, cancellationToken);
                break;
            case SnapshotReceiptEnvelope snapshotReceipt:
                await snapshots.ApplyReceiptAsync(snapshotReceipt, cancellationToken);
                break;
            case DeviceBoundReceiptEnvelope bound:
                statuses.ConfirmBinding(bound.DeviceId);
                break;
            default:
                metrics.CommandRejected(UnexpectedKind);
                rejectLog.Report(UnexpectedKind, envelope!.GetType().Name);
                break;
        }
    }

    private async Task ApplyReceiptAsync(AlarmReceiptEnvelope receipt, CancellationToken cancellationToken)
    {
        if (receipt.Key.Contains('/', StringComparison.Ordinal))
        {
            await ApplyTroubleReceiptAsync(receipt.Key, cancellationToken);
            return;
        }

        if (!AlarmKey.TryParse(receipt.Key, out AlarmKey key))
        {
            metrics.CommandRejected(OperatorAckRelay.BadKey);
            rejectLog.Report(OperatorAckRelay.BadKey, "receipt " + receipt.Key);
            return;
        }

        if (!await store.RecordReceiptAsync(key, time.GetUtcNow(), cancellationToken))
        {
            metrics.CommandRejected(OperatorAckRelay.UnknownAlarm);
            rejectLog.Report(OperatorAckRelay.UnknownAlarm, "receipt " + key);
            return;
        }

        metrics.ReceiptApplied();
        LogReceipt(logger, key.ToString());
    }

    private async Task ApplyTroubleReceiptAsync(string key, CancellationToken cancellationToken)
    {
        if (!await troubles.ApplyReceiptAsync(key, cancellationToken))
        {
            metrics.CommandRejected(OperatorAckRelay.UnknownAlarm);
            rejectLog.Report(OperatorAckRelay.UnknownAlarm, "receipt " + key);
            return;
        }

        metrics.ReceiptApplied();
        LogReceipt(logger, key);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cloud receipt for {Key}")]
    private static partial void LogReceipt(ILogger logger, string key);
}
