namespace Anshimi.CloudBridge.Storage.Migrations;

/// <summary>For <c>IfDatabase(...)</c> in a migration: FluentMigrator's processors name themselves by version (SQLite, Postgres15_0, PostgreSQL, ...).</summary>
internal static class MigrationEngine
{
    public static bool IsSqlite(string databaseType) => databaseType.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase);

    public static bool IsPostgreSql(string databaseType) => databaseType.StartsWith("Postgres", StringComparison.OrdinalIgnoreCase);
}
