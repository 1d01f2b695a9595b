using FluentMigrator.Runner;
using FluentMigrator.Runner.VersionTableInfo;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Anshimi.CloudBridge.Storage;

/// <summary>
/// Brings a store file's tables to the newest schema with FluentMigrator: the migrations tagged with the file's name
/// (<see cref="StoreFile.Name"/>), each recorded in the file's own version table <c>schema_versions_{name}</c>.
/// </summary>
internal static class SchemaMigrations
{
    // Any fixed number: the advisory lock that keeps two bridge instances starting together from migrating at once.
    private const long MigrationLock = 0x616e_7368_696d_6901;

    public static void Run(StorageProvider provider, string connectionString, StoreFile file)
    {
        if (provider == StorageProvider.PostgreSql)
        {
            // Unpooled, so the session lock goes with the connection when it closes, also when the migration throws.
            using var guard = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
            guard.Open();
            using var take = new NpgsqlCommand($"SELECT pg_advisory_lock({MigrationLock});", guard);
            take.ExecuteNonQuery();
            MigrateUp(provider, connectionString, file);
            return;
        }

        MigrateUp(provider, connectionString, file);
    }

    private static void MigrateUp(StorageProvider provider, string connectionString, StoreFile file)
    {
        using ServiceProvider services = new ServiceCollection()
            .AddLogging()
            .AddFluentMigratorCore()
            .ConfigureRunner(runner =>
            {
                _ = provider == StorageProvider.PostgreSql ? runner.AddPostgres() : runner.AddSQLite();
                runner.WithGlobalConnectionString(connectionString)
                    .WithVersionTable(new SchemaVersionTable(file.Name))
                    .ScanIn(typeof(SchemaMigrations).Assembly).For.Migrations();
            })
            .Configure<FluentMigrator.Runner.Initialization.RunnerOptions>(options => options.Tags = [file.Name])
            .BuildServiceProvider(validateScopes: false);
        using IServiceScope scope = services.CreateScope();
        scope.ServiceProvider.GetRequiredService<IMigrationRunner>().MigrateUp();
    }

    private sealed class SchemaVersionTable(string fileName) : IVersionTableMetaData
    {
        public bool OwnsSchema => false;

        public string SchemaName => "";

        public string TableName => "schema_versions_" + fileName;

        public string ColumnName => "version";

        public string DescriptionColumnName => "description";

        public string UniqueIndexName => "schema_versions_" + fileName + "_version";

        public string AppliedOnColumnName => "applied_on";

        public bool CreateWithPrimaryKey => false;
    }
}
