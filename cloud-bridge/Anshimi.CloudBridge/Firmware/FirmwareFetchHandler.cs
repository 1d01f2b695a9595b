using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Firmware;

/// <summary>
/// <c>firmware-fetch</c>: a gateway asks for one chunk of a release's image. Answered with <c>firmware-part</c> only
/// for a release offered to a device bound to that gateway; anything else is refused and counted (<c>not_offered</c>).
/// </summary>
public sealed class FirmwareFetchHandler(FirmwareStore store, FirmwareReleases releases, GatewayReplies replies) : GatewayEnvelopeHandler<FirmwareFetchEnvelope>
{
    protected override async Task<string?> HandleAsync(GatewayEnvelope message, FirmwareFetchEnvelope fetch, CancellationToken cancellationToken)
    {
        if (!FirmwareStateHandler.IsReleaseId(fetch.ReleaseId) || fetch.Index is < 0 or > ushort.MaxValue)
        {
            return "firmware-fetch with a malformed releaseId or index";
        }

        string releaseId = fetch.ReleaseId.ToLowerInvariant();
        if (!await store.WasOfferedToAsync(releaseId, message.GatewayId, cancellationToken) ||
            await store.ReadChunkAsync(releaseId, fetch.Index, cancellationToken) is not { } chunk)
        {
            releases.Count(FirmwareReleases.NotOffered);
            return null;
        }

        replies.Send(message.GatewayId, new FirmwarePartEnvelope(releaseId, fetch.Index, chunk));
        return null;
    }
}
