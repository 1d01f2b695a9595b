using System.Data.Common;
using System.Xml.Linq;
using Anshimi.CloudBridge.Storage;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

namespace Anshimi.CloudBridge.Operators;

/// <summary>
/// The ASP.NET data-protection key ring kept in the store file <see cref="StoreFile.Operators"/> (table
/// <c>data_protection_keys</c>), so a console cookie one bridge instance issued is read by every other instance on the same
/// database, and outlives the instance that issued it. Used when the bridge runs on PostgreSQL; a single bridge on SQLite
/// keeps its keys in <c>{DataDirectory}/keys</c>.
/// </summary>
public sealed class StoredKeyRing(StoreDatabase database) : IXmlRepository
{
    // The data-protection system calls these synchronously, at start and when it refreshes its key ring.
    public IReadOnlyCollection<XElement> GetAllElements() =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT xml FROM data_protection_keys ORDER BY stored_at, name;");
            return await ReadAllAsync(query, reader => XElement.Parse(reader.GetString(0)), ct);
        }, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Keeps <paramref name="element"/> under <paramref name="friendlyName"/> (unique: "key-{id}", "revocation-{…}"); a repeat changes nothing.</summary>
    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        ArgumentException.ThrowIfNullOrEmpty(friendlyName);
        database.WriteAsync(
            (connection, ct) => ExecuteAsync(connection, """
                INSERT INTO data_protection_keys (name, xml, stored_at) VALUES (@name, @xml, @at) ON CONFLICT (name) DO NOTHING;
                """, ct, ("name", friendlyName), ("xml", element.ToString(SaveOptions.DisableFormatting)), ("at", Text(DateTimeOffset.UtcNow))),
            CancellationToken.None).GetAwaiter().GetResult();
    }
}

/// <summary>
/// Makes sure the shared key ring has a key before this instance serves a request, under a database lock: bridge instances
/// starting together on an empty database would otherwise each make their own first key, and a cookie from one would not
/// open on the other until their key rings were next refreshed. Later keys are made ahead of their activation by the
/// data-protection system itself, so every instance reads them before they are used.
/// </summary>
public sealed class KeyRingSeeding(IKeyManager keys, StoreDatabases databases, TimeProvider time) : IHostedService
{
    // Any fixed number, distinct from the migrations' lock.
    private const long KeyRingLock = 0x616e_7368_696d_6902;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        StoreDatabase database = databases.Get(StoreFile.Operators);
        await using DbConnection connection = await database.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, "SELECT pg_advisory_lock(@key);", cancellationToken, ("key", KeyRingLock));
        try
        {
            DateTimeOffset now = time.GetUtcNow();
            if (!keys.GetAllKeys().Any(key => !key.IsRevoked && key.ActivationDate <= now && key.ExpirationDate > now))
            {
                keys.CreateNewKey(now, now.AddDays(90));
            }
        }
        finally
        {
            await ExecuteAsync(connection, "SELECT pg_advisory_unlock(@key);", CancellationToken.None, ("key", KeyRingLock));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
