using Anshimi.CloudBridge.Storage;

namespace Anshimi.CloudBridge.Tests.Storage;

public sealed class StorageOptionsTests
{
    [Fact]
    public void Sqlite_needs_no_connection_string()
    {
        Assert.Null(new StorageOptions().Problem());
    }

    [Theory]
    [InlineData(null, "Storage:ConnectionString must be set")]
    [InlineData("Host=db1;Username=anshimi", "Storage:ConnectionString names no Database")]
    [InlineData("Database=anshimi", "Storage:ConnectionString names no Host")]
    [InlineData("Host=db1;Databse=anshimi", "Storage:ConnectionString is not an Npgsql connection string")]
    public void PostgreSql_settings_that_cannot_work_are_refused_naming_the_key(string? connectionString, string expected)
    {
        string? problem = new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = connectionString }.Problem();

        Assert.NotNull(problem);
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_multi_host_connection_string_that_asks_for_the_primary_is_taken()
    {
        var options = new StorageOptions
        {
            Provider = StorageProvider.PostgreSql,
            ConnectionString = "Host=db1:5432,db2:5432;Database=anshimi;Username=anshimi;Target Session Attributes=primary",
        };

        Assert.Null(options.Problem());
    }

    [Fact]
    public void A_negative_retry_time_is_refused_naming_the_key()
    {
        Assert.StartsWith("Storage:RetryFor", new StorageOptions { RetryFor = TimeSpan.FromSeconds(-1) }.Problem(), StringComparison.Ordinal);
    }
}
