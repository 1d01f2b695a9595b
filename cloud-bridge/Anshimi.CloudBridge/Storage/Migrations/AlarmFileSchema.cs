using System.Data;
using FluentMigrator;

namespace Anshimi.CloudBridge.Storage.Migrations;

/// <summary>
/// The alarm file as it stood before migrations: alarms, timelines, the operator-ack outbox, conflicting claims,
/// gateways, upstream deliveries and the audit log. Each table is created only where missing, so a SQLite file
/// written by the earlier <c>CREATE TABLE IF NOT EXISTS</c> start-up is adopted as it is.
/// </summary>
[Migration(2026_12_07_01, "alarm file")]
[FluentMigrator.Tags("alarms")]
public sealed class AlarmFileSchema : ForwardOnlyMigration
{

    public override void Up()
    {
        if (!Schema.Table("alarms").Exists())
        {
            Create.Table("alarms")
                .WithColumn("seq").AsInt64().PrimaryKey().Identity()
                .WithColumn("key").AsString().NotNullable().Unique()
                .WithColumn("device_id").AsString().NotNullable()
                .WithColumn("counter").AsInt64().NotNullable()
                .WithColumn("gateway_id").AsString().NotNullable()
                .WithColumn("event_code").AsInt32().NotNullable()
                .WithColumn("qualifier").AsInt32().NotNullable()
                .WithColumn("zone").AsInt32().NotNullable()
                .WithColumn("profile").AsString().NotNullable()
                .WithColumn("site_kind").AsString().NotNullable()
                .WithColumn("lat").AsDouble().NotNullable()
                .WithColumn("lon").AsDouble().NotNullable()
                .WithColumn("address").AsString().NotNullable()
                .WithColumn("test").AsInt32().NotNullable()
                .WithColumn("district_code").AsString().NotNullable()
                .WithColumn("neighbourhood_code").AsString().Nullable()
                .WithColumn("frame").AsString().NotNullable()
                .WithColumn("state").AsString().NotNullable()
                .WithColumn("raised_at").AsString().NotNullable()
                .WithColumn("received_at").AsString().NotNullable();
        }
        else if (!Schema.Table("alarms").Column("neighbourhood_code").Exists())
        {
            // Files written before alarms carried their neighbourhood (empty for their old alarms).
            Alter.Table("alarms").AddColumn("neighbourhood_code").AsString().Nullable();
        }

        if (!Schema.Table("timeline").Exists())
        {
            Create.Table("timeline")
                .WithColumn("id").AsInt64().PrimaryKey().Identity()
                .WithColumn("alarm_key").AsString().NotNullable().ForeignKey("alarms", "key")
                .WithColumn("stage").AsString().NotNullable()
                .WithColumn("at").AsString().NotNullable()
                .WithColumn("actor").AsString().Nullable();
        }

        if (!Schema.Table("ack_outbox").Exists())
        {
            Create.Table("ack_outbox")
                .WithColumn("alarm_key").AsString().NotNullable().PrimaryKey().ForeignKey("alarms", "key")
                .WithColumn("stage").AsString().NotNullable().PrimaryKey()
                .WithColumn("gateway_id").AsString().NotNullable()
                .WithColumn("operator").AsString().NotNullable()
                .WithColumn("at").AsString().NotNullable()
                .WithColumn("attempts").AsInt32().NotNullable()
                .WithColumn("next_attempt_ms").AsInt64().NotNullable()
                .WithColumn("relayed_at").AsString().Nullable();
        }

        if (!Schema.Table("alarm_claims").Exists())
        {
            Create.Table("alarm_claims")
                .WithColumn("id").AsInt64().PrimaryKey().Identity()
                .WithColumn("alarm_key").AsString().NotNullable().ForeignKey("alarms", "key")
                .WithColumn("gateway_id").AsString().NotNullable()
                .WithColumn("test").AsInt32().NotNullable()
                .WithColumn("frame").AsString().NotNullable()
                .WithColumn("received_at").AsString().NotNullable();
        }

        if (!Schema.Table("gateways").Exists())
        {
            Create.Table("gateways")
                .WithColumn("gateway_id").AsString().NotNullable().PrimaryKey()
                .WithColumn("last_seen_at").AsString().NotNullable()
                .WithColumn("outbox_depth").AsInt32().NotNullable();
        }

        if (!Schema.Table("upstream_deliveries").Exists())
        {
            Create.Table("upstream_deliveries")
                .WithColumn("alarm_key").AsString().NotNullable().PrimaryKey().ForeignKey("alarms", "key").OnDelete(Rule.Cascade)
                .WithColumn("upstream").AsString().NotNullable().PrimaryKey()
                .WithColumn("alarm_seq").AsInt64().NotNullable()
                .WithColumn("state").AsString().NotNullable()
                .WithColumn("attempts").AsInt32().NotNullable()
                .WithColumn("wire_sequence").AsInt32().Nullable()
                .WithColumn("last_error").AsString().Nullable()
                .WithColumn("settled_at").AsString().Nullable();
        }

        if (!Schema.Table("upstream_sequences").Exists())
        {
            Create.Table("upstream_sequences")
                .WithColumn("upstream").AsString().NotNullable().PrimaryKey()
                .WithColumn("last_sequence").AsInt32().NotNullable();
        }

        if (!Schema.Table("audit").Exists())
        {
            Create.Table("audit")
                .WithColumn("id").AsInt64().NotNullable().PrimaryKey()
                .WithColumn("at").AsString().NotNullable()
                .WithColumn("actor").AsString().NotNullable()
                .WithColumn("action").AsString().NotNullable()
                .WithColumn("target").AsString().NotNullable()
                .WithColumn("district").AsString().NotNullable()
                .WithColumn("outcome").AsString().NotNullable()
                .WithColumn("detail").AsString().NotNullable()
                .WithColumn("prev_hash").AsString().NotNullable()
                .WithColumn("hash").AsString().NotNullable();
        }

        // The same SQL on both engines.
        Execute.Sql("""
            CREATE INDEX IF NOT EXISTS timeline_by_alarm ON timeline(alarm_key, id);
            CREATE INDEX IF NOT EXISTS ack_outbox_due ON ack_outbox(next_attempt_ms) WHERE relayed_at IS NULL;
            CREATE INDEX IF NOT EXISTS upstream_deliveries_pending ON upstream_deliveries(upstream, alarm_seq) WHERE state = 'pending';
            CREATE INDEX IF NOT EXISTS audit_by_target ON audit(target, action, actor);
            CREATE TABLE IF NOT EXISTS audit_horizon (
                single INTEGER PRIMARY KEY CHECK (single = 1),
                purged_through BIGINT NOT NULL,
                anchor_hash TEXT NOT NULL);
            INSERT INTO audit_horizon (single, purged_through, anchor_hash) VALUES (1, 0, '') ON CONFLICT DO NOTHING;
            """);

        // The audit log refuses edits in the database itself; triggers are where the two engines' languages differ.
        IfDatabase(MigrationEngine.IsSqlite).Execute.Sql("""
            CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
            CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
            WHEN OLD.id > (SELECT purged_through FROM audit_horizon)
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
            CREATE TRIGGER IF NOT EXISTS audit_horizon_forward BEFORE UPDATE ON audit_horizon
            WHEN NEW.purged_through < OLD.purged_through
            BEGIN SELECT RAISE(ABORT, 'the audit horizon only moves forward'); END;
            """);
        IfDatabase(MigrationEngine.IsPostgreSql).Execute.Sql("""
            CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' OR OLD.id > (SELECT purged_through FROM audit_horizon) THEN
                    RAISE EXCEPTION 'the audit log is append-only';
                END IF;
                RETURN OLD;
            END $$;
            CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
            CREATE OR REPLACE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
            CREATE OR REPLACE FUNCTION audit_horizon_forward() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.purged_through < OLD.purged_through THEN
                    RAISE EXCEPTION 'the audit horizon only moves forward';
                END IF;
                RETURN NEW;
            END $$;
            CREATE OR REPLACE TRIGGER audit_horizon_forward BEFORE UPDATE ON audit_horizon FOR EACH ROW EXECUTE FUNCTION audit_horizon_forward();
            """);
    }
}

/// <summary>
/// Outbox rows (operator acknowledgements, upstream deliveries) are leased to one bridge instance at a time
/// (<c>lease_owner</c> until <c>lease_until_ms</c>), so two instances never both send them. The owner is the instance's
/// stable name, so a restarted instance takes its own rows back at once; another instance waits for the lease to run out.
/// </summary>
[Migration(2026_12_07_02, "outbox leases")]
[FluentMigrator.Tags("alarms")]
public sealed class OutboxLeases : ForwardOnlyMigration
{
    public override void Up()
    {
        Alter.Table("ack_outbox")
            .AddColumn("lease_owner").AsString().Nullable()
            .AddColumn("lease_until_ms").AsInt64().Nullable();
        Alter.Table("upstream_deliveries")
            .AddColumn("lease_owner").AsString().Nullable()
            .AddColumn("lease_until_ms").AsInt64().Nullable();
    }
}

/// <summary>
/// An upstream's refusal no longer settles a delivery: rows an earlier version marked <c>rejected</c> are owed again and
/// go back to pending, so the alarm is offered to the receivers once more.
/// </summary>
[Migration(2026_12_07_03, "refused deliveries pending again")]
[FluentMigrator.Tags("alarms")]
public sealed class RefusedDeliveriesPending : ForwardOnlyMigration
{
    public override void Up() =>
        Execute.Sql("UPDATE upstream_deliveries SET state = 'pending', settled_at = NULL WHERE state = 'rejected';");
}

/// <summary>
/// Each bridge instance on a shared database keeps a liveness row, renewed every second or so (<c>InstanceLease</c>);
/// an outbox row leased to an instance whose row has run out is due for the others at once, not when its own lease ends.
/// </summary>
[Migration(2026_12_07_04, "instance liveness")]
[FluentMigrator.Tags("alarms")]
public sealed class InstanceLiveness : ForwardOnlyMigration
{
    public override void Up() =>
        Create.Table("bridge_instances")
            .WithColumn("instance").AsString().NotNullable().PrimaryKey()
            .WithColumn("alive_until_ms").AsInt64().NotNullable();
}
