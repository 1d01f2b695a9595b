using Anshimi.CloudBridge.Snapshots;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests;

/// <summary>Stores snapshots through the cloud bridge's own snapshot store, as a gateway's snapshot envelope would.</summary>
public static class TestSnapshots
{
    /// <summary>A valid 1×1 PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    public static void Write(CloudBridgeHost host, string key, string deviceId, byte[] data, DateTimeOffset receivedAt) =>
        Write(host.Services.GetRequiredService<CloudSnapshotStore>(), key, deviceId, data, receivedAt);

    public static void Write(CloudSnapshotStore store, string key, string deviceId, byte[] data, DateTimeOffset receivedAt)
    {
        string sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));
        var envelope = new SnapshotEnvelope(key, "gw-test", deviceId, new ContactIdEvent(150, 1, 2), receivedAt, "image/png", sha256, data);
        store.StoreAsync(envelope, receivedAt, CancellationToken.None).GetAwaiter().GetResult();
    }
}
