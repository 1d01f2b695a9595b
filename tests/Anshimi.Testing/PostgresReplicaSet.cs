using System.Globalization;
using System.Security.Cryptography;
using Npgsql;

namespace Anshimi.Testing;

/// <summary>
/// The city's PostgreSQL pair on this machine, made only by hosting/postgresql's files and scripts, as a city runs them:
/// member <c>anshimi_db1</c> from <c>init-primary.sh</c> and <c>create-database.sh</c>, member <c>anshimi_db2</c> its
/// synchronous standby from <c>make-standby.sh</c> and <c>resume-synchronous.sh</c>, each a <see cref="PostgresServer"/>
/// on its own loopback port (the only settings given on the command line: port, socket directory, loopback address).
/// <see cref="KillAsync"/> either, <see cref="PostgresServer.RestartAsync"/> it, <see cref="PromoteStandbyAsync"/> once
/// the primary is dead (<c>promote.sh</c>), <see cref="RebuildStandbyAsync"/> to make the lost member the new standby.
/// </summary>
public sealed class PostgresReplicaSet : IAsyncDisposable
{
    public const string Database = "anshimi";
    public const string Username = "anshimi";

    private const string OsUser = "postgres";

    private readonly string _directory;
    private readonly string _bridgePassword = RandomPassword();
    private readonly string _replicationPassword = RandomPassword();
    private readonly PostgresServer[] _members = new PostgresServer[2];

    private PostgresReplicaSet(string directory)
    {
        _directory = directory;
    }

    /// <summary>Both members in a fixed order (<c>anshimi_db1</c>, <c>anshimi_db2</c>), whatever their roles now.</summary>
    public IReadOnlyList<PostgresServer> Members => _members;

    public PostgresServer Primary { get; private set; } = null!;

    public PostgresServer Standby => Primary == _members[0] ? _members[1] : _members[0];

    /// <summary>What the bridges configure as <c>Storage:ConnectionString</c>: both members, the primary wanted.</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = string.Join(',', _members.Select(m => $"{m.Host}:{m.Port}")),
        Database = Database,
        Username = Username,
        Password = _bridgePassword,
        TargetSessionAttributes = "primary",
    }.ConnectionString;

    public static string MemberName(int index) => "anshimi_db" + (index + 1).ToString(CultureInfo.InvariantCulture);

    public string MemberName(PostgresServer member) => MemberName(Array.IndexOf(_members, member));

    /// <summary>Makes and starts the pair; returns once the standby streams and the primary waits for it on every commit.</summary>
    public static async Task<PostgresReplicaSet> StartAsync(CancellationToken cancellationToken = default)
    {
        var set = new PostgresReplicaSet(Directory.CreateTempSubdirectory("postgres-pair-").FullName);
        try
        {
            for (var i = 0; i < set._members.Length; i++)
            {
                var directory = Path.Combine(set._directory, MemberName(i));
                Directory.CreateDirectory(directory);
                set._members[i] = PostgresServer.Member(directory, FreePort.Next());
            }

            if (Environment.IsPrivilegedProcess)
            {
                (await ProcessRunner.RunAsync("chown", ["-R", OsUser + ":", set._directory], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false)).EnsureSuccess();
            }

            set.Primary = set._members[0];
            (await set.RunScriptAsync("init-primary.sh", set.Primary, [set.Primary.DataDirectory, MemberName(0)], cancellationToken).ConfigureAwait(false)).EnsureSuccess();
            await StartMemberAsync(set.Primary, cancellationToken).ConfigureAwait(false);
            (await set.RunScriptAsync("create-database.sh", set.Primary, [], cancellationToken).ConfigureAwait(false)).EnsureSuccess();
            await set.RebuildStandbyAsync(cancellationToken).ConfigureAwait(false);
            return set;
        }
        catch
        {
            await set.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>SIGKILL to <paramref name="member"/> and all its backends, as a machine crash would.</summary>
    public Task KillAsync(PostgresServer member, CancellationToken cancellationToken = default) => member.KillAsync(cancellationToken);

    /// <summary>
    /// promote.sh on the standby: it becomes the primary and, its peer being gone, stops waiting for a synchronous standby.
    /// Refused while the old primary still runs (a city fences it first: two primaries is split brain).
    /// </summary>
    public async Task PromoteStandbyAsync(CancellationToken cancellationToken = default)
    {
        if (Primary.IsRunning)
        {
            throw new InvalidOperationException($"{MemberName(Primary)} is still running: kill it before promoting {MemberName(Standby)}.");
        }

        PostgresServer promoted = Standby;
        (await RunScriptAsync("promote.sh", promoted, [promoted.DataDirectory], cancellationToken).ConfigureAwait(false)).EnsureSuccess();
        Primary = promoted;
    }

    /// <summary>
    /// Makes the member that is not the primary its synchronous standby again from an empty data directory
    /// (make-standby.sh), starts it, and has the primary wait for it again (resume-synchronous.sh).
    /// </summary>
    public async Task RebuildStandbyAsync(CancellationToken cancellationToken = default)
    {
        PostgresServer standby = Standby;
        await standby.KillAsync(cancellationToken).ConfigureAwait(false);
        if (Directory.Exists(standby.DataDirectory))
        {
            Directory.Delete(standby.DataDirectory, recursive: true);
        }

        (await RunScriptAsync("make-standby.sh", standby,
            [Primary.Host, Primary.Port.ToString(CultureInfo.InvariantCulture), standby.DataDirectory, MemberName(standby)], cancellationToken)
            .ConfigureAwait(false)).EnsureSuccess();
        await StartMemberAsync(standby, cancellationToken).ConfigureAwait(false);
        (await RunScriptAsync("resume-synchronous.sh", Primary, [MemberName(standby)], cancellationToken).ConfigureAwait(false)).EnsureSuccess();
    }

    /// <summary>The primary's view of its standbys (pg_stat_replication): "name state sync_state" per line.</summary>
    public async Task<string> ReplicationStateAsync(CancellationToken cancellationToken = default)
    {
        ProcessResult result = await RunAsync(Primary,
            [Path.Combine(PostgresServer.FindBinaries()!, "psql"), "-X", "-At", "-F", " ", "-d", "postgres",
             "-c", "SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY 1"], cancellationToken).ConfigureAwait(false);
        return result.EnsureSuccess().StandardOutput.Trim();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (PostgresServer? member in _members)
        {
            if (member is not null)
            {
                await member.KillAsync().ConfigureAwait(false);
                await member.DisposeAsync().ConfigureAwait(false);
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // A port found free can be taken before postgres binds it; then the member moves to another.
    private static async Task StartMemberAsync(PostgresServer member, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await member.RestartAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (InvalidOperationException) when (attempt < 3 && member.ReadLog().Contains("could not bind", StringComparison.Ordinal))
            {
                member.Port = FreePort.Next();
            }
        }
    }

    private Task<ProcessResult> RunScriptAsync(string script, PostgresServer member, IEnumerable<string> arguments, CancellationToken cancellationToken) =>
        RunAsync(member, [RepoPaths.Combine("hosting", "postgresql", script), .. arguments], cancellationToken);

    // As the postgres OS user in the member's directory, with what the scripts read from the environment: psql's
    // PGHOST/PGPORT (the member's socket), the passwords, and the server binaries the pair runs on.
    private Task<ProcessResult> RunAsync(PostgresServer member, IEnumerable<string> command, CancellationToken cancellationToken)
    {
        string[] environment =
        [
            "-C", member.Directory,
            "PGHOST=" + member.Directory,
            "PGPORT=" + member.Port.ToString(CultureInfo.InvariantCulture),
            "PG_BIN=" + PostgresServer.FindBinaries(),
            "ANSHIMI_DB_PASSWORD=" + _bridgePassword,
            "ANSHIMI_REPLICATION_PASSWORD=" + _replicationPassword,
        ];
        return Environment.IsPrivilegedProcess
            ? ProcessRunner.RunAsync("runuser", ["-u", OsUser, "--", "env", .. environment, .. command], TimeSpan.FromMinutes(3), cancellationToken)
            : ProcessRunner.RunAsync("env", [.. environment, .. command], TimeSpan.FromMinutes(3), cancellationToken);
    }

    private static string RandomPassword() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
}
