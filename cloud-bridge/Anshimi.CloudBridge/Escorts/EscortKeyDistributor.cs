using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Anshimi.CloudBridge.Bindings;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>
/// Hands every gateway the escort key records of the districts of the streetlights bound to it (protocol/README.md §10.1,
/// envelope <c>escort-keys</c>): at each rotation start the new rotation's, and during a changeover the previous one's
/// too, so a light bound then takes escorts at once. An envelope is re-sent until the gateway's receipt, again as soon as
/// its lights or districts change (a light bound, moved or re-homed), and once per <see cref="EscortOptions.KeyRefresh"/>
/// after the receipt, which a gateway that restarted (it keeps deliveries in memory) needs. Rows live in the escorts store,
/// so bridge instances share them and one of them sends.
/// </summary>
public sealed partial class EscortKeyDistributor(
    EscortAdvertiser advertiser,
    DeviceBindingStore bindings,
    EscortKeyDeliveryStore deliveries,
    GatewayReplies replies,
    MqttSession mqtt,
    IOptions<EscortOptions> options,
    TimeProvider time,
    ILogger<EscortKeyDistributor> logger) : BackgroundService
{
    public const string LightProfile = "streetlight";

    private static readonly byte[] Online = "online"u8.ToArray();

    private readonly RedeliveryPolicy _resend = new(options.Value.KeyResend, options.Value.KeyRefresh);

    // Filled on the broker's thread, taken at the next check.
    private readonly ConcurrentQueue<string> _cameOnline = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (advertiser.Schedule is null)
        {
            return;
        }

        mqtt.AddSubscription(Topics.GatewayStatus("+"), MqttQos.AtLeastOnce, OnGatewayStatusAsync);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DistributeAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException)
            {
                LogStoreFailed(logger, ex.Message);
            }

            await Task.Delay(options.Value.KeyDeliveryCheck, time, stoppingToken);
        }
    }

    /// <summary>Sends what is due now: a rotation not yet sent to a gateway, changed, or unreceipted past its resend delay.</summary>
    public async Task DistributeAsync(CancellationToken cancellationToken)
    {
        EscortKeySchedule schedule = advertiser.Schedule ?? throw new InvalidOperationException("Escorts:EscortKey is not configured.");
        while (_cameOnline.TryPeek(out string? online))
        {
            await deliveries.ForgetGatewayAsync(online, cancellationToken);
            _cameOnline.TryDequeue(out _);
        }

        DateTimeOffset now = time.GetUtcNow();
        long minute = now.ToUnixTimeSeconds() / 60;
        uint delivered = schedule.DeliveredRotation(minute);
        uint signing = schedule.SigningRotation(minute);
        uint[] rotations = signing == delivered ? [delivered] : [signing, delivered];

        IReadOnlyList<DeviceBinding> all = await bindings.ListAsync(cancellationToken);
        foreach (IGrouping<string, DeviceBinding> gateway in all.Where(b => b.Profile == LightProfile).GroupBy(b => b.GatewayId, StringComparer.Ordinal))
        {
            foreach (uint rotation in rotations)
            {
                EscortKeysEnvelope envelope = EnvelopeFor(schedule, rotation, gateway);
                if (envelope.Keys.Count == 0)
                {
                    continue;
                }

                string contents = Contents(envelope);
                EscortKeyDeliveryRecord? last = await deliveries.FindAsync(gateway.Key, rotation, cancellationToken);
                bool due = last is null || last.Contents != contents
                    || now >= last.SentAt + (last.ReceiptedAt is null ? _resend.DelayAfter(last.Attempts) : options.Value.KeyRefresh);
                if (!due || !await deliveries.ClaimSendAsync(gateway.Key, rotation, contents, last, now, cancellationToken))
                {
                    continue;
                }

                replies.Send(gateway.Key, envelope);
                LogSent(logger, rotation, gateway.Key, envelope.Keys.Count);
            }
        }

        await deliveries.PurgeBeforeAsync(signing, cancellationToken);
    }

    private Task OnGatewayStatusAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        string[] levels = message.Topic.Split('/');
        if (levels.Length == 5 && message.Topic == Topics.GatewayStatus(levels[3]) && message.Payload.AsSpan().SequenceEqual(Online))
        {
            _cameOnline.Enqueue(levels[3]);
        }

        return Task.CompletedTask;
    }

    /// <summary>The envelope of <paramref name="rotation"/> for one gateway's lights, one entry per district.</summary>
    private static EscortKeysEnvelope EnvelopeFor(EscortKeySchedule schedule, uint rotation, IEnumerable<DeviceBinding> lights)
    {
        var keys = new List<EscortAreaKey>();
        foreach (IGrouping<string, DeviceBinding> district in lights.GroupBy(l => l.DistrictCode, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            // A light outside every district has no area and takes no escort.
            if (!EscortKeySchedule.TryParseArea(district.Key, out ushort area))
            {
                continue;
            }

            keys.Add(new EscortAreaKey(
                district.Key,
                Convert.ToHexStringLower(schedule.Record(area, rotation)),
                [.. district.Select(l => DeviceIdText.Format(l.DeviceId)).Order(StringComparer.Ordinal)]));
        }

        return new EscortKeysEnvelope(rotation, keys);
    }

    /// <summary>What the envelope says, without its keys: a change of lights or districts makes it due again.</summary>
    private static string Contents(EscortKeysEnvelope envelope)
    {
        var text = new StringBuilder();
        foreach (EscortAreaKey key in envelope.Keys)
        {
            text.Append(key.Area).Append(':').AppendJoin(',', key.Lights).Append(';');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Escort keys of rotation {Rotation} sent to gateway {Gateway} ({Areas} districts)")]
    private static partial void LogSent(ILogger logger, uint rotation, string gateway, int areas);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Escort key delivery check failed: {Error}; tried again at the next check")]
    private static partial void LogStoreFailed(ILogger logger, string error);
}
