using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Anshimi.Testing;

/// <summary>
/// A real PostgreSQL server (Debian's <c>postgresql</c>, binaries found under /usr/lib/postgresql/&lt;version&gt;/bin) with
/// its own data directory from <c>initdb</c> and its own loopback port, trust authentication for user <c>postgres</c>.
/// initdb and postgres refuse to run as root, so under root they run as the <c>postgres</c> system user, which owns the
/// directory. <see cref="KillAsync"/> (SIGKILL to the server and every backend) and <see cref="RestartAsync"/> keep
/// the port and the data; <see cref="CreateDatabaseAsync"/> gives each test class a fresh database.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string Superuser = "postgres";

    private static readonly ConcurrentDictionary<PostgresServer, byte> Running = new();
    private static readonly Lazy<Task<PostgresServer>> SharedServer = new(() => StartAsync());

    private readonly string _bin;
    private readonly bool _passwordOnly;
    private RunningProcess? _process;

    static PostgresServer()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            // The shared server lives until the test host exits; its data directory goes with it.
            foreach (var server in Running.Keys)
            {
                server._process?.Kill();
                try
                {
                    System.IO.Directory.Delete(server.Directory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        };
    }

    private PostgresServer(string bin, string directory, bool passwordOnly = false)
    {
        _bin = bin;
        Directory = directory;
        _passwordOnly = passwordOnly;
    }

    /// <summary>One server for the whole test run, for tests that only need a database of their own.</summary>
    public static Task<PostgresServer> Shared => SharedServer.Value;

    public string Host => "127.0.0.1";

    public int Port { get; internal set; }

    /// <summary>The server's private directory: its data directory and Unix socket.</summary>
    public string Directory { get; }

    public string DataDirectory => Path.Combine(Directory, "data");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The server binaries of the newest PostgreSQL installed, or null when none is.</summary>
    public static string? FindBinaries() =>
        System.IO.Directory.Exists("/usr/lib/postgresql")
            ? System.IO.Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1))
                .Where(d => d.Version > 0 && File.Exists(Path.Combine(d.Dir, "bin", "postgres")))
                .OrderByDescending(d => d.Version)
                .Select(d => Path.Combine(d.Dir, "bin"))
                .FirstOrDefault()
            : null;

    /// <summary>initdb into a fresh temporary directory, then start on a free port and wait until it takes connections.</summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException("PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin/postgres (apt-get install postgresql).");
        var server = new PostgresServer(bin, System.IO.Directory.CreateTempSubdirectory("postgres-").FullName);
        try
        {
            if (Environment.IsPrivilegedProcess)
            {
                (await ProcessRunner.RunAsync("chown", [Superuser + ":", server.Directory], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false)).EnsureSuccess();
            }

            (await server.RunAsync("initdb", ["-D", server.DataDirectory, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--no-instructions"], TimeSpan.FromMinutes(2), cancellationToken)
                .ConfigureAwait(false)).EnsureSuccess();

            // A port found free can be taken before postgres binds it; try a few.
            for (var attempt = 1; ; attempt++)
            {
                server.Port = FreePort.Next();
                try
                {
                    await server.RestartAsync(cancellationToken).ConfigureAwait(false);
                    return server;
                }
                catch (InvalidOperationException) when (attempt < 3 && server.ReadLog().Contains("could not bind", StringComparison.Ordinal))
                {
                }
            }
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The connection string of <paramref name="database"/> on this server.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = Superuser,
        Database = database,
    }.ConnectionString;

    /// <summary>Creates an empty database with a unique name and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test", CancellationToken cancellationToken = default)
    {
        var name = (prefix + "_" + Guid.NewGuid().ToString("N")[..12]).ToLowerInvariant();
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\";", connection);
        await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return ConnectionString(name);
    }

    /// <summary>
    /// A server whose data directory someone else makes (<see cref="PostgresReplicaSet"/>, from hosting/postgresql's scripts)
    /// and whose access rules want passwords over TCP, so readiness is asked with pg_isready. Not started.
    /// </summary>
    internal static PostgresServer Member(string directory, int port) =>
        new(FindBinaries() ?? throw new InvalidOperationException("PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin/postgres (apt-get install postgresql)."), directory, passwordOnly: true)
        {
            Port = port,
        };

    /// <summary>(Re)starts on the same port and data directory; waits until it takes connections (crash recovery included).</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The PostgreSQL server is already running.");
        }

        if (_process is not null)
        {
            await _process.DisposeAsync().ConfigureAwait(false);
        }

        _process = Start("postgres",
        [
            "-D", DataDirectory, "-p", Port.ToString(CultureInfo.InvariantCulture), "-k", Directory,
            "-c", "listen_addresses=" + Host, "-c", "logging_collector=off", "-c", "max_connections=200",
        ]);
        Running[this] = 0;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await ProbeAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (NpgsqlException) when (deadline.Elapsed < TimeSpan.FromSeconds(60) && !_process.HasExited)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex)
            {
                _process.Kill();
                throw new InvalidOperationException($"postgres did not start on {Host}:{Port}: {ex.Message}\nlog:\n{ReadLog()}", ex);
            }
        }
    }

    private async Task ProbeAsync(CancellationToken cancellationToken)
    {
        if (!_passwordOnly)
        {
            await using var connection = new NpgsqlConnection(ConnectionString() + ";Pooling=false;Timeout=5");
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        ProcessResult ready = await RunAsync("pg_isready", ["-h", Directory, "-p", Port.ToString(CultureInfo.InvariantCulture), "-t", "5"], TimeSpan.FromSeconds(30), cancellationToken)
            .ConfigureAwait(false);
        if (ready.ExitCode != 0)
        {
            throw new NpgsqlException("pg_isready: " + ready.StandardOutput.Trim());
        }
    }

    /// <summary>SIGKILL to the server and all its backends at once, as a machine crash would; the data directory stays.</summary>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        if (_process is null)
        {
            return;
        }

        int? postmaster = PostmasterProcessId();
        _process.Kill();
        await _process.WaitForExitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);

        // The killed postmaster stays a zombie until it is reaped, and a new one refuses a data directory whose
        // postmaster.pid names a process that still exists: restarting before that fails with "lock file already exists".
        var deadline = Stopwatch.StartNew();
        while (postmaster is int pid && System.IO.Directory.Exists($"/proc/{pid}") && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    private int? PostmasterProcessId()
    {
        try
        {
            string? first = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(first, NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public string ReadLog()
    {
        try
        {
            return _process is null ? "" : _process.StandardError + _process.StandardOutput;
        }
        catch (ObjectDisposedException)
        {
            return "";
        }
    }

    public async ValueTask DisposeAsync()
    {
        Running.TryRemove(this, out _);
        if (_process is not null)
        {
            await _process.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // initdb and postgres will not run as root.
    private RunningProcess Start(string program, IEnumerable<string> arguments) => Environment.IsPrivilegedProcess
        ? ProcessRunner.Start("runuser", ["-u", Superuser, "--", Path.Combine(_bin, program), .. arguments])
        : ProcessRunner.Start(Path.Combine(_bin, program), arguments);

    private Task<ProcessResult> RunAsync(string program, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken) => Environment.IsPrivilegedProcess
        ? ProcessRunner.RunAsync("runuser", ["-u", Superuser, "--", Path.Combine(_bin, program), .. arguments], timeout, cancellationToken)
        : ProcessRunner.RunAsync(Path.Combine(_bin, program), arguments, timeout, cancellationToken);
}
