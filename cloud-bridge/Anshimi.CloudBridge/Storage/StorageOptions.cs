using Npgsql;

namespace Anshimi.CloudBridge.Storage;

public enum StorageProvider
{
    /// <summary>One SQLite file per store in the data directory: the embedded default (demo, single-box install).</summary>
    Sqlite,

    /// <summary>Every store in one PostgreSQL database: the city deployment, shared by every bridge instance.</summary>
    PostgreSql,
}

/// <summary>Where the bridge keeps its records; bound from configuration section "Storage".</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>
    /// PostgreSQL only: an Npgsql connection string, e.g. <c>Host=db1,db2;Database=anshimi;Username=anshimi;Target Session
    /// Attributes=primary</c> (several hosts: Npgsql connects to the one that is primary now).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>How long one store call keeps retrying transient faults (a PostgreSQL restart or primary switch) before it fails.</summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The first problem with these settings, naming its key; null when they are usable.</summary>
    public string? Problem()
    {
        if (!Enum.IsDefined(Provider))
        {
            return $"{SectionName}:{nameof(Provider)} must be {nameof(StorageProvider.Sqlite)} or {nameof(StorageProvider.PostgreSql)}.";
        }

        if (RetryFor < TimeSpan.Zero)
        {
            return $"{SectionName}:{nameof(RetryFor)} must not be negative.";
        }

        if (Provider == StorageProvider.Sqlite)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            return $"{SectionName}:{nameof(ConnectionString)} must be set when {SectionName}:{nameof(Provider)} is {nameof(StorageProvider.PostgreSql)}.";
        }

        NpgsqlConnectionStringBuilder parsed;
        try
        {
            parsed = new NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (ArgumentException e)
        {
            return $"{SectionName}:{nameof(ConnectionString)} is not an Npgsql connection string: {e.Message}";
        }

        return string.IsNullOrWhiteSpace(parsed.Host) ? $"{SectionName}:{nameof(ConnectionString)} names no Host."
            : string.IsNullOrWhiteSpace(parsed.Database) ? $"{SectionName}:{nameof(ConnectionString)} names no Database."
            : null;
    }
}
