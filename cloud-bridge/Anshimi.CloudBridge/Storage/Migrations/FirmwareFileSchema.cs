using FluentMigrator;

namespace Anshimi.CloudBridge.Storage.Migrations;

/// <summary>firmware: uploaded releases (manifest, signature, image chunks), rollouts, their devices, and each device's update state.</summary>
[Migration(2026_12_07_91, "firmware file")]
[FluentMigrator.Tags("firmware")]
public sealed class FirmwareFileSchema : ForwardOnlyMigration
{
    public override void Up()
    {
        Create.Table("firmware_releases")
            .WithColumn("release_id").AsString().NotNullable().PrimaryKey()
            .WithColumn("version").AsString().NotNullable()
            .WithColumn("manifest").AsBinary().NotNullable()
            .WithColumn("signature").AsBinary().NotNullable()
            .WithColumn("uploaded_by").AsString().NotNullable()
            .WithColumn("uploaded_at").AsString().NotNullable();

        Create.Table("firmware_chunks")
            .WithColumn("release_id").AsString().NotNullable().PrimaryKey()
            .WithColumn("chunk_index").AsInt32().NotNullable().PrimaryKey()
            .WithColumn("data").AsBinary().NotNullable();

        Create.Table("firmware_rollouts")
            .WithColumn("rollout_id").AsString().NotNullable().PrimaryKey()
            .WithColumn("release_id").AsString().NotNullable()
            .WithColumn("state").AsString().NotNullable()
            .WithColumn("stage").AsInt32().NotNullable()
            .WithColumn("stage_started_at").AsString().NotNullable()
            .WithColumn("canary").AsString().NotNullable()
            .WithColumn("district_code").AsString().NotNullable()
            .WithColumn("success_threshold").AsDouble().NotNullable()
            .WithColumn("failure_threshold").AsDouble().NotNullable()
            .WithColumn("halt_reason").AsString().Nullable()
            .WithColumn("baseline_failures").AsInt32().NotNullable()
            .WithColumn("baseline_open").AsInt32().NotNullable()
            .WithColumn("created_by").AsString().NotNullable()
            .WithColumn("created_at").AsString().NotNullable()
            .WithColumn("updated_at").AsString().NotNullable();

        Create.Table("firmware_rollout_devices")
            .WithColumn("rollout_id").AsString().NotNullable().PrimaryKey()
            .WithColumn("device_id").AsString().NotNullable().PrimaryKey()
            .WithColumn("stage").AsInt32().NotNullable()
            .WithColumn("gateway_id").AsString().NotNullable()
            .WithColumn("state").AsString().NotNullable()
            .WithColumn("reason").AsString().Nullable()
            .WithColumn("final").AsInt32().NotNullable()
            .WithColumn("offered_at").AsString().NotNullable()
            .WithColumn("updated_at").AsString().NotNullable();

        Create.Table("device_firmware")
            .WithColumn("device_id").AsString().NotNullable().PrimaryKey()
            .WithColumn("gateway_id").AsString().NotNullable()
            .WithColumn("running_version").AsString().Nullable()
            .WithColumn("floor").AsString().Nullable()
            .WithColumn("board").AsString().Nullable()
            .WithColumn("release_id").AsString().Nullable()
            .WithColumn("rollout_id").AsString().Nullable()
            .WithColumn("state").AsString().NotNullable()
            .WithColumn("reason").AsString().Nullable()
            .WithColumn("chunks_done").AsInt32().NotNullable()
            .WithColumn("chunk_count").AsInt32().NotNullable()
            .WithColumn("reported_at").AsString().NotNullable()
            .WithColumn("received_at").AsString().NotNullable();

        Execute.Sql("""
            CREATE INDEX IF NOT EXISTS firmware_rollouts_by_state ON firmware_rollouts(state);
            CREATE INDEX IF NOT EXISTS firmware_rollout_devices_by_device ON firmware_rollout_devices(device_id);
            """);
    }
}
