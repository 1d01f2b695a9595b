using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;

namespace Anshimi.CloudBridge.Tests.Escorts;

[Trait("Category", "Protocol")]
public sealed class EscortKeyDeliveryStoreOnSqliteTests() : EscortKeyDeliveryStoreTests(StorageProvider.Sqlite);

[Trait("Category", "Protocol")]
[Trait("Category", "HighAvailability")]
public sealed class EscortKeyDeliveryStoreOnPostgreSqlTests() : EscortKeyDeliveryStoreTests(StorageProvider.PostgreSql);

/// <summary>
/// The cloud's record of the escort key envelopes sent to each gateway, on each storage engine, shared by two bridge
/// instances: one of them claims each send, a receipt ends the re-sending, changed contents or the gateway coming back
/// online start it again.
/// </summary>
public abstract class EscortKeyDeliveryStoreTests(StorageProvider provider) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    private TestStorage _storage = null!;

    public async Task InitializeAsync() => _storage = await TestStorage.CreateAsync(provider);

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task One_instance_claims_each_send_a_receipt_ends_the_resending_and_changed_contents_start_it_again()
    {
        var first = new EscortKeyDeliveryStore(_storage.Open(StoreFile.Escorts));
        var second = new EscortKeyDeliveryStore(_storage.Open(StoreFile.Escorts));
        CancellationToken ct = CancellationToken.None;

        Assert.True(await first.ClaimSendAsync("gw-a", 20430, "lights-1", null, At, ct));
        Assert.False(await second.ClaimSendAsync("gw-a", 20430, "lights-1", null, At, ct));
        EscortKeyDeliveryRecord sent = (await second.FindAsync("gw-a", 20430, ct))!;
        Assert.Equal((1, "lights-1", At, (DateTimeOffset?)null), (sent.Attempts, sent.Contents, sent.SentAt, sent.ReceiptedAt));

        // Both instances find it due again; the one that claims first sends.
        Assert.True(await second.ClaimSendAsync("gw-a", 20430, "lights-1", sent, At.AddSeconds(30), ct));
        Assert.False(await first.ClaimSendAsync("gw-a", 20430, "lights-1", sent, At.AddSeconds(30), ct));
        Assert.Equal(2, (await first.FindAsync("gw-a", 20430, ct))!.Attempts);

        Assert.True(await first.ReceiptAsync("gw-a", 20430, At.AddSeconds(31), ct));
        Assert.False(await second.ReceiptAsync("gw-a", 20430, At.AddSeconds(32), ct));
        Assert.Equal(At.AddSeconds(31), (await second.FindAsync("gw-a", 20430, ct))!.ReceiptedAt);
        Assert.False(await first.ReceiptAsync("gw-b", 20430, At, ct));

        // A light bound since: new contents, counted from the first attempt and not receipted.
        EscortKeyDeliveryRecord receipted = (await first.FindAsync("gw-a", 20430, ct))!;
        Assert.True(await first.ClaimSendAsync("gw-a", 20430, "lights-2", receipted, At.AddMinutes(5), ct));
        EscortKeyDeliveryRecord changed = (await second.FindAsync("gw-a", 20430, ct))!;
        Assert.Equal((1, "lights-2", (DateTimeOffset?)null), (changed.Attempts, changed.Contents, changed.ReceiptedAt));

        Assert.True(await first.ClaimSendAsync("gw-a", 20431, "lights-2", null, At.AddDays(1), ct));
        await second.PurgeBeforeAsync(20431, ct);
        Assert.Null(await first.FindAsync("gw-a", 20430, ct));
        Assert.NotNull(await first.FindAsync("gw-a", 20431, ct));

        // The gateway came back online having lost its deliveries: its rows go, so the next check sends again.
        Assert.True(await first.ClaimSendAsync("gw-b", 20431, "lights-3", null, At.AddDays(1), ct));
        await second.ForgetGatewayAsync("gw-a", ct);
        Assert.Null(await first.FindAsync("gw-a", 20431, ct));
        Assert.NotNull(await first.FindAsync("gw-b", 20431, ct));
    }
}
