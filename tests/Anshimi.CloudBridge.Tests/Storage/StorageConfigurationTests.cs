using Anshimi.CloudBridge.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Tests.Storage;

public sealed class StorageConfigurationTests
{
    [Fact]
    public void Storage_settings_are_bound_from_configuration()
    {
        StorageOptions options = Resolve(new()
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = "Host=db1,db2;Database=anshimi;Username=anshimi;Target Session Attributes=primary",
            ["Storage:RetryFor"] = "00:00:45",
        });

        Assert.Equal(StorageProvider.PostgreSql, options.Provider);
        Assert.Equal(TimeSpan.FromSeconds(45), options.RetryFor);
    }

    [Fact]
    public void PostgreSql_without_a_connection_string_is_refused_at_start_naming_the_key()
    {
        OptionsValidationException refused = Assert.Throws<OptionsValidationException>(() => Resolve(new() { ["Storage:Provider"] = "PostgreSql" }));

        Assert.Contains("Storage:ConnectionString", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_configured_is_the_embedded_sqlite_default()
    {
        Assert.Equal(StorageProvider.Sqlite, Resolve([]).Provider);
    }

    private static StorageOptions Resolve(Dictionary<string, string?> settings)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using ServiceProvider services = new ServiceCollection().AddStorage(configuration).BuildServiceProvider();
        return services.GetRequiredService<IOptions<StorageOptions>>().Value;
    }
}
