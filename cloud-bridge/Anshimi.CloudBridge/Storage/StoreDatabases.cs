using System.Collections.Concurrent;
using Anshimi.CloudBridge.Hosting;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Storage;

/// <summary>The bridge's store files, each opened and migrated once, on the provider <see cref="StorageOptions"/> names.</summary>
public sealed class StoreDatabases(IOptions<StorageOptions> storage, IOptions<CloudBridgeOptions> bridge) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<StoreDatabase>> _open = new(StringComparer.Ordinal);

    public StoreDatabase Get(StoreFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return _open.GetOrAdd(file.Name, _ => new Lazy<StoreDatabase>(() => StoreDatabase.Open(storage.Value, bridge.Value.DataDirectory, file))).Value;
    }

    public void Dispose()
    {
        foreach (Lazy<StoreDatabase> database in _open.Values.Where(d => d.IsValueCreated))
        {
            database.Value.Dispose();
        }
    }
}

public static class StorageExtensions
{
    /// <summary>Binds and checks section "Storage" at start (the message names the key) and registers <see cref="StoreDatabases"/>.</summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidation>();
        services.AddSingleton<StoreDatabases>();
        return services;
    }

    private sealed class StorageOptionsValidation : IValidateOptions<StorageOptions>
    {
        public ValidateOptionsResult Validate(string? name, StorageOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}
