using FluentMigrator;

namespace Anshimi.CloudBridge.Storage.Migrations;

// The store files beside the alarm file, as they stood before migrations. Each table is created only where missing, so a
// SQLite file written by the earlier CREATE TABLE IF NOT EXISTS start-up is adopted as it is.

/// <summary>bindings: the authoritative device → gateway binding.</summary>
[Migration(2026_12_07_41, "bindings file")]
[FluentMigrator.Tags("bindings")]
public sealed class BindingFileSchema : ForwardOnlyMigration
{
    public override void Up()
    {
        if (!Schema.Table("device_bindings").Exists())
        {
            Create.Table("device_bindings")
                .WithColumn("device_id").AsString().NotNullable().PrimaryKey()
                .WithColumn("gateway_id").AsString().NotNullable()
                .WithColumn("frame_key").AsString().NotNullable()
                .WithColumn("profile").AsString().NotNullable()
                .WithColumn("site_kind").AsString().NotNullable()
                .WithColumn("lat").AsDouble().NotNullable()
                .WithColumn("lon").AsDouble().NotNullable()
                .WithColumn("address").AsString().NotNullable()
                .WithColumn("district_code").AsString().NotNullable()
                .WithColumn("bound_at").AsString().NotNullable();
        }
    }
}

/// <summary>devices: the latest status per device and the troubles gateways detect.</summary>
[Migration(2026_12_07_42, "devices file")]
[FluentMigrator.Tags("devices")]
public sealed class DeviceFileSchema : ForwardOnlyMigration
{
    public override void Up()
    {
        if (!Schema.Table("devices").Exists())
        {
            Create.Table("devices")
                .WithColumn("device_id").AsString().NotNullable().PrimaryKey()
                .WithColumn("gateway_id").AsString().NotNullable()
                .WithColumn("profile").AsString().NotNullable()
                .WithColumn("site_kind").AsString().NotNullable()
                .WithColumn("lat").AsDouble().NotNullable()
                .WithColumn("lon").AsDouble().NotNullable()
                .WithColumn("address").AsString().NotNullable()
                .WithColumn("district_code").AsString().NotNullable()
                .WithColumn("silent").AsInt32().NotNullable()
                .WithColumn("low_battery").AsInt32().NotNullable()
                .WithColumn("tamper").AsInt32().NotNullable()
                .WithColumn("mains_lost").AsInt32().NotNullable()
                .WithColumn("lamp_fault").AsInt32().NotNullable()
                .WithColumn("battery_percent").AsInt32().Nullable()
                .WithColumn("last_seen").AsString().Nullable()
                .WithColumn("status_at").AsString().NotNullable();
        }

        if (!Schema.Table("troubles").Exists())
        {
            Create.Table("troubles")
                .WithColumn("seq").AsInt64().PrimaryKey().Identity()
                .WithColumn("key").AsString().NotNullable().Unique()
                .WithColumn("gateway_id").AsString().NotNullable()
                .WithColumn("device_id").AsString().NotNullable()
                .WithColumn("event_code").AsInt32().NotNullable()
                .WithColumn("qualifier").AsInt32().NotNullable()
                .WithColumn("zone").AsInt32().NotNullable()
                .WithColumn("profile").AsString().NotNullable()
                .WithColumn("address").AsString().NotNullable()
                .WithColumn("district_code").AsString().NotNullable()
                .WithColumn("detected_at").AsString().NotNullable()
                .WithColumn("received_at").AsString().NotNullable();
        }

        Execute.Sql("""
            CREATE INDEX IF NOT EXISTS devices_by_district ON devices(district_code);
            CREATE INDEX IF NOT EXISTS devices_lamp_faults ON devices(device_id) WHERE lamp_fault = 1;
            CREATE INDEX IF NOT EXISTS troubles_by_device ON troubles(device_id, event_code, seq);
            """);
    }
}

/// <summary>snapshots: doorbell images by their alarm key.</summary>
[Migration(2026_12_07_43, "snapshots file")]
[FluentMigrator.Tags("snapshots")]
public sealed class SnapshotFileSchema : ForwardOnlyMigration
{
    public override void Up()
    {
        if (!Schema.Table("snapshots").Exists())
        {
            Create.Table("snapshots")
                .WithColumn("key").AsString().NotNullable().PrimaryKey()
                .WithColumn("device_id").AsString().NotNullable()
                .WithColumn("gateway_id").AsString().NotNullable()
                .WithColumn("event_code").AsInt32().NotNullable()
                .WithColumn("qualifier").AsInt32().NotNullable()
                .WithColumn("zone").AsInt32().NotNullable()
                .WithColumn("taken_at").AsString().NotNullable()
                .WithColumn("content_type").AsString().NotNullable()
                .WithColumn("sha256").AsString().NotNullable()
                .WithColumn("data").AsBinary().NotNullable()
                .WithColumn("received_at").AsString().NotNullable();
        }

        // The retention purge deletes by arrival.
        Execute.Sql("CREATE INDEX IF NOT EXISTS snapshots_received ON snapshots(received_at);");
    }
}

/// <summary>escorts: return-home sessions, their location traces and emergency reports.</summary>
[Migration(2026_12_07_44, "escorts file")]
[FluentMigrator.Tags("escorts")]
public sealed class EscortFileSchema : ForwardOnlyMigration
{
    public override void Up()
    {
        if (!Schema.Table("escort_sessions").Exists())
        {
            Create.Table("escort_sessions")
                .WithColumn("session_id").AsString().NotNullable().PrimaryKey()
                .WithColumn("client").AsString().NotNullable()
                .WithColumn("state").AsString().NotNullable()
                .WithColumn("origin_lat").AsDouble().NotNullable()
                .WithColumn("origin_lon").AsDouble().NotNullable()
                .WithColumn("destination_lat").AsDouble().NotNullable()
                .WithColumn("destination_lon").AsDouble().NotNullable()
                .WithColumn("route").AsString().Nullable()
                .WithColumn("started_at").AsString().NotNullable()
                .WithColumn("last_seen_at").AsString().NotNullable()
                .WithColumn("last_lat").AsDouble().NotNullable()
                .WithColumn("last_lon").AsDouble().NotNullable()
                .WithColumn("ended_at").AsString().Nullable();
        }

        if (!Schema.Table("location_traces").Exists())
        {
            Create.Table("location_traces")
                .WithColumn("id").AsInt64().PrimaryKey().Identity()
                .WithColumn("session_id").AsString().NotNullable()
                .WithColumn("lat").AsDouble().NotNullable()
                .WithColumn("lon").AsDouble().NotNullable()
                .WithColumn("measured_at").AsString().NotNullable()
                .WithColumn("recorded_at").AsString().NotNullable();
        }

        if (!Schema.Table("emergencies").Exists())
        {
            Create.Table("emergencies")
                .WithColumn("seq").AsInt64().PrimaryKey().Identity()
                .WithColumn("client").AsString().NotNullable()
                .WithColumn("idempotency_key").AsString().NotNullable()
                .WithColumn("request_hash").AsString().NotNullable()
                .WithColumn("alarm_key").AsString().NotNullable()
                .WithColumn("lat").AsDouble().NotNullable()
                .WithColumn("lon").AsDouble().NotNullable()
                .WithColumn("district_code").AsString().NotNullable()
                .WithColumn("lights").AsString().NotNullable()
                .WithColumn("reported_at").AsString().NotNullable()
                .WithColumn("released_at").AsString().Nullable();

            // Adopted files carry this as the table's own UNIQUE (client, idempotency_key).
            Create.Index("emergencies_by_request").OnTable("emergencies")
                .OnColumn("client").Ascending().OnColumn("idempotency_key").Ascending().WithOptions().Unique();
        }

        Execute.Sql("""
            CREATE INDEX IF NOT EXISTS escort_sessions_active ON escort_sessions(state) WHERE state = 'active';
            CREATE INDEX IF NOT EXISTS location_traces_recorded ON location_traces(recorded_at);
            CREATE INDEX IF NOT EXISTS location_traces_session ON location_traces(session_id, id);
            CREATE INDEX IF NOT EXISTS emergencies_by_alarm ON emergencies(alarm_key);
            """);
    }
}

/// <summary>operators: accounts and their server-side console sessions.</summary>
[Migration(2026_12_07_45, "operators file")]
[FluentMigrator.Tags("operators")]
public sealed class OperatorFileSchema : ForwardOnlyMigration
{
    public override void Up()
    {
        if (!Schema.Table("operators").Exists())
        {
            Create.Table("operators")
                .WithColumn("user_name").AsString().NotNullable().PrimaryKey()
                .WithColumn("display_name").AsString().NotNullable()
                .WithColumn("central").AsInt32().NotNullable()
                .WithColumn("districts").AsString().NotNullable()
                .WithColumn("password_hash").AsString().NotNullable()
                .WithColumn("disabled").AsInt32().NotNullable().WithDefaultValue(0);
        }
        else if (!Schema.Table("operators").Column("disabled").Exists())
        {
            // Files from before accounts could be disabled.
            Alter.Table("operators").AddColumn("disabled").AsInt32().NotNullable().WithDefaultValue(0);
        }

        if (!Schema.Table("operator_sessions").Exists())
        {
            Create.Table("operator_sessions")
                .WithColumn("id").AsString().NotNullable().PrimaryKey()
                .WithColumn("user_name").AsString().NotNullable()
                .WithColumn("created_at_ms").AsInt64().NotNullable()
                .WithColumn("issued_at_ms").AsInt64().NotNullable()
                .WithColumn("expires_at_ms").AsInt64().NotNullable();
        }

        Execute.Sql("CREATE INDEX IF NOT EXISTS operator_sessions_user ON operator_sessions (user_name);");
    }
}

/// <summary>
/// The ASP.NET data-protection key ring in the database, so every bridge instance on it reads the cookies the others
/// issued (<see cref="Operators.StoredKeyRing"/>).
/// </summary>
[Migration(2026_12_07_46, "data-protection keys")]
[FluentMigrator.Tags("operators")]
public sealed class DataProtectionKeys : ForwardOnlyMigration
{
    public override void Up()
    {
        Create.Table("data_protection_keys")
            .WithColumn("name").AsString().NotNullable().PrimaryKey()
            .WithColumn("xml").AsString().NotNullable()
            .WithColumn("stored_at").AsString().NotNullable();
    }
}

/// <summary>
/// escorts: a session row carries the planner's state of its walk and a version, so any bridge instance on the database
/// takes the next location update where the last one, on whichever instance, left the walk.
/// </summary>
[Migration(2026_12_07_47, "walks shared by instances")]
[FluentMigrator.Tags("escorts")]
public sealed class SharedWalks : ForwardOnlyMigration
{
    public override void Up() =>
        Alter.Table("escort_sessions")
            .AddColumn("version").AsInt64().NotNullable().WithDefaultValue(0)
            .AddColumn("walk").AsString().Nullable();
}

/// <summary>
/// escorts: each gateway's escort key envelope of each rotation, what it held (a hash of its districts and lights), when
/// it was last sent and whether the gateway receipted it, so every instance re-sends only what is unreceipted or changed.
/// </summary>
[Migration(2026_12_07_73, "escort key deliveries")]
[FluentMigrator.Tags("escorts")]
public sealed class EscortKeyDeliveries : ForwardOnlyMigration
{
    public override void Up() =>
        Create.Table("escort_key_deliveries")
            .WithColumn("gateway_id").AsString().NotNullable().PrimaryKey()
            .WithColumn("rotation").AsInt64().NotNullable().PrimaryKey()
            .WithColumn("contents").AsString().NotNullable()
            .WithColumn("attempts").AsInt32().NotNullable()
            .WithColumn("sent_at").AsString().NotNullable()
            .WithColumn("receipted_at").AsString().Nullable();
}
