using System.Data.Common;
using System.Xml.Linq;
using Anshimi.CloudBridge.Storage;
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
