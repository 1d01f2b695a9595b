using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Testing;

public sealed class MosquittoBrokerOptions
{
    /// <summary>Off by default, as in production: every client needs one of <see cref="Users"/>.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>User name to plaintext password; hashed with <c>mosquitto_passwd -U</c> before the broker reads it.</summary>
    public IDictionary<string, string> Users { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Lines of a mosquitto <c>acl_file</c> (e.g. "user alice", "topic readwrite devices/alice/#"); none means no ACL.</summary>
    public IList<string> AclLines { get; } = [];

    /// <summary>Keeps sessions and queued messages in the data directory across <see cref="MosquittoBroker.StopAsync"/>/StartAsync.</summary>
    public bool Persistence { get; set; } = true;

    /// <summary>
    /// Appended verbatim to the generated mosquitto.conf, e.g. "autosave_interval 1" so that a killed broker
    /// loses (almost) nothing, or a dynamic-security plugin configuration.
    /// </summary>
    public IList<string> ExtraConfigLines { get; } = [];

    /// <summary>
    /// Loads Mosquitto's dynamic-security plugin with a fresh admin account (see
    /// <see cref="MosquittoBroker.DynamicSecurityAdmin"/>); <see cref="Users"/> and <see cref="AclLines"/>
    /// keep working beside it for service accounts.
    /// </summary>
    public bool DynamicSecurity { get; set; }

    /// <summary>
    /// The whole mosquitto.conf for (port, broker directory) in place of the generated one, e.g. rendered from a
    /// deployment template; <see cref="Users"/>, <see cref="AclLines"/> and the other settings are then not used.
    /// </summary>
    public Func<int, string, IEnumerable<string>>? Configuration { get; set; }

    /// <summary>
    /// The box broker's listeners and client-id rule (<see cref="BrokerListeners.SiteBroker"/>) instead of one plain
    /// listener: accounts on <see cref="MosquittoBroker.Port"/> with the session named after the account, anonymous
    /// factory-fresh devices on <see cref="MosquittoBroker.ProvisioningPort"/>, every client id sent starting with
    /// <see cref="BrokerListeners.ClientIdPrefix"/>.
    /// </summary>
    public bool SiteListeners { get; set; }

    /// <summary>With <see cref="SiteListeners"/>: the devices' address, e.g. 127.0.0.2 to show nothing for devices listens on 127.0.0.1; null is the loopback address.</summary>
    public string? DeviceAddress { get; set; }

    /// <summary>With <see cref="SiteListeners"/>: a device TLS listener on <see cref="MosquittoBroker.TlsPort"/> with this PEM server certificate and key.</summary>
    public string? TlsCertificateFile { get; set; }

    public string? TlsKeyFile { get; set; }

    /// <summary>A fixed port, e.g. one a client is already trying; null picks a free one.</summary>
    public int? Port { get; set; }

    /// <summary>Generous: a loaded two-core machine can take seconds to start a process.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A real <c>/usr/sbin/mosquitto</c> on a free loopback port with its own configuration, password file,
/// ACL, persistence directory and log in a private temporary directory. Stop, kill and start again keep the
/// port and the data, for restart tests.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    private const string BrokerExecutable = "/usr/sbin/mosquitto";
    private const string PasswdExecutable = "mosquitto_passwd";
    private const string CtrlExecutable = "mosquitto_ctrl";
    private const string DynamicSecurityPlugin = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

    // Brokers still running when the test host exits (a crashed or aborted run) are killed, not orphaned.
    private static readonly ConcurrentDictionary<MosquittoBroker, byte> Running = new();

    private readonly MosquittoBrokerOptions _options;
    private RunningProcess? _process;

    static MosquittoBroker()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var broker in Running.Keys)
            {
                broker._process?.Kill();
            }
        };
    }

    private MosquittoBroker(MosquittoBrokerOptions options, string directory)
    {
        _options = options;
        Directory = directory;
    }

    public string Host => "127.0.0.1";

    public int Port { get; private set; }

    /// <summary>The anonymous provisioning listener, with <see cref="MosquittoBrokerOptions.SiteListeners"/>.</summary>
    public int ProvisioningPort => BrokerListeners.ProvisioningPort(Port);

    /// <summary>The device TLS listener, with <see cref="MosquittoBrokerOptions.TlsCertificateFile"/>.</summary>
    public int? TlsPort { get; private set; }

    /// <summary>The broker's private directory: config, passwd, acl, data/ and mosquitto.log.</summary>
    public string Directory { get; }

    public string ConfigFile => Path.Combine(Directory, "mosquitto.conf");

    public string LogFile => Path.Combine(Directory, "mosquitto.log");

    /// <summary>The dynamic-security admin account, when <see cref="MosquittoBrokerOptions.DynamicSecurity"/> is on.</summary>
    public string DynamicSecurityAdmin => "anshimi-provisioner";

    /// <summary>A 0600 file holding the admin's password (as a gateway deployment keeps it).</summary>
    public string DynamicSecurityPasswordFile => Path.Combine(Directory, "dynsec-admin.secret");

    public string DynamicSecurityConfigFile => Path.Combine(Directory, "dynamic-security.json");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// When the last start found the broker not yet listening for the last time: no later than the instant it began to
    /// listen, so a client's time to reconnect measured from here is never understated.
    /// </summary>
    public DateTimeOffset ListeningSince { get; private set; }

    /// <summary>The running broker's process id, e.g. for a reload command; null while it is stopped.</summary>
    public int? ProcessId => IsRunning ? _process!.Id : null;

    /// <summary>Writes the configuration, starts the broker and waits until it accepts connections.</summary>
    public static async Task<MosquittoBroker> StartAsync(MosquittoBrokerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var broker = new MosquittoBroker(options ?? new MosquittoBrokerOptions(), System.IO.Directory.CreateTempSubdirectory("mosquitto-").FullName);
        try
        {
            await broker.WriteCredentialsAsync(cancellationToken).ConfigureAwait(false);

            // A port found free can be taken before mosquitto binds it; try a few.
            for (var attempt = 1; ; attempt++)
            {
                broker.Port = broker._options.Port ?? FreePort.Next();
                broker.TlsPort = broker._options.SiteListeners && broker._options.TlsCertificateFile is not null ? FreePort.Next() : null;
                broker.WriteConfig();
                try
                {
                    await broker.StartAsync(cancellationToken).ConfigureAwait(false);
                    return broker;
                }
                catch (InvalidOperationException) when (attempt < 3 && broker._options.Port is null && broker.ReadLog().Contains("Address already in use", StringComparison.Ordinal))
                {
                }
            }
        }
        catch
        {
            await broker.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A client id that is unique and within MQTT 3.1.1's 23 characters.</summary>
    public static string NewClientId(string prefix = "test")
    {
        var head = prefix.Length > 10 ? prefix[..10] : prefix;
        return $"{head}-{Guid.NewGuid():N}"[..Math.Min(23, head.Length + 13)];
    }

    /// <summary>(Re)starts on the same port and data directory; waits until it accepts connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The broker is already running.");
        }

        if (_process is not null)
        {
            await _process.DisposeAsync().ConfigureAwait(false);
        }

        _process = ProcessRunner.Start(BrokerExecutable, ["-c", ConfigFile]);
        Running[this] = 0;
        try
        {
            await WaitUntilAcceptingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            _process.Kill();
            throw new InvalidOperationException(
                $"mosquitto did not start on {Host}:{Port}: {ex.Message}\nstderr:\n{_process.StandardError}\nlog:\n{ReadLog()}", ex);
        }
    }

    /// <summary>SIGTERM: mosquitto closes its connections and writes its persistence file before it exits.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => EndAsync(graceful: true, cancellationToken);

    /// <summary>SIGKILL: the broker dies at once; anything not yet persisted is lost.</summary>
    public Task KillAsync(CancellationToken cancellationToken = default) => EndAsync(graceful: false, cancellationToken);

    /// <summary>
    /// SIGSTOP: the broker answers nothing while its connections stay open, as a hung broker looks to its clients
    /// until their keepalive runs out. <see cref="KillAsync"/> ends it from there.
    /// </summary>
    public void Freeze()
    {
        if (!IsRunning)
        {
            throw new InvalidOperationException("The broker is not running.");
        }

        Posix.Signal(_process!.Id, Posix.SigStop);
    }

    public string PasswordOf(string username) =>
        _options.Users.TryGetValue(username, out var password)
            ? password
            : throw new ArgumentException($"'{username}' is not a user of this broker.", nameof(username));

    /// <summary>
    /// Options for connecting as <paramref name="username"/> (anonymous when null) with a fresh client id,
    /// a persistent session and the reconnect policy every client runs.
    /// </summary>
    public MqttClientOptions ClientOptions(string? username, string? clientId = null) => new()
    {
        Host = Host,
        Port = Port,
        ClientId = clientId ?? (_options.SiteListeners ? BrokerListeners.ClientIdPrefix : "") + NewClientId(username ?? "anon"),
        Username = username,
        Password = username is null ? null : PasswordOf(username),
        KeepAliveSeconds = 10,
        ConnectTimeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>Connection arguments for mosquitto_pub / mosquitto_sub as <paramref name="username"/>.</summary>
    public IReadOnlyList<string> CliArguments(string? username)
    {
        List<string> arguments = ["-h", Host, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        if (_options.SiteListeners)
        {
            arguments.AddRange(["-i", BrokerListeners.ClientIdPrefix + NewClientId("cli")]);
        }

        if (username is not null)
        {
            arguments.AddRange(["-u", username, "-P", PasswordOf(username)]);
        }

        return arguments;
    }

    public string ReadLog()
    {
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync().ConfigureAwait(false);
        }

        Running.TryRemove(this, out _);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory; harmless.
        }
    }

    private async Task EndAsync(bool graceful, CancellationToken cancellationToken)
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        if (graceful)
        {
            _process.Terminate();
        }
        else
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync(TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
        Running.TryRemove(this, out _);
    }

    private async Task WaitUntilAcceptingAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.StartupTimeout);
        DateTimeOffset notYetListening = DateTimeOffset.UtcNow;
        while (true)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException("mosquitto exited during startup");
            }

            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), deadline.Token).ConfigureAwait(false);
                ListeningSince = notYetListening;
                return;
            }
            catch (SocketException)
            {
                notYetListening = DateTimeOffset.UtcNow;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"not accepting connections after {_options.StartupTimeout.TotalSeconds:0} s");
            }

            try
            {
                await Task.Delay(50, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"not accepting connections after {_options.StartupTimeout.TotalSeconds:0} s");
            }
        }
    }

    private async Task WriteCredentialsAsync(CancellationToken cancellationToken)
    {
        if (_options.Users.Count > 0)
        {
            var passwd = Path.Combine(Directory, "passwd");
            await File.WriteAllLinesAsync(passwd, _options.Users.Select(u => $"{u.Key}:{u.Value}"), cancellationToken).ConfigureAwait(false);
            (await ProcessRunner.RunAsync(PasswdExecutable, ["-U", passwd], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false))
                .EnsureSuccess();
        }

        if (_options.AclLines.Count > 0)
        {
            await File.WriteAllLinesAsync(Path.Combine(Directory, "acl"), _options.AclLines, cancellationToken).ConfigureAwait(false);
        }

        if (_options.DynamicSecurity)
        {
            string password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
            (await ProcessRunner.RunAsync(CtrlExecutable, ["dynsec", "init", DynamicSecurityConfigFile, DynamicSecurityAdmin, password], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false))
                .EnsureSuccess();
            await File.WriteAllTextAsync(DynamicSecurityPasswordFile, password + "\n", cancellationToken).ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(DynamicSecurityPasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
    }

    private void WriteConfig()
    {
        var dataDirectory = Path.Combine(Directory, "data");
        System.IO.Directory.CreateDirectory(dataDirectory);
        if (_options.Configuration is { } render)
        {
            File.WriteAllLines(ConfigFile, render(Port, Directory));
            return;
        }

        List<string> lines =
        [
            "set_tcp_nodelay true",
            $"persistence {(_options.Persistence ? "true" : "false")}",
            $"persistence_location {dataDirectory}/",
            $"log_dest file {LogFile}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "log_type subscribe",
            "connection_messages true",
            "log_timestamp_format %H:%M:%S",
            // Run as whoever runs the tests; as root mosquitto would otherwise switch to a user that cannot read this directory.
            $"user {Environment.UserName}",
        ];
        if (_options.SiteListeners)
        {
            lines.AddRange(BrokerListeners.SiteBroker(new SiteBrokerListeners
            {
                Port = Port,
                DeviceAddress = _options.DeviceAddress ?? Host,
                TlsPort = TlsPort,
                TlsCertificateFile = _options.TlsCertificateFile,
                TlsKeyFile = _options.TlsKeyFile,
            }));
        }
        else
        {
            lines.Add("per_listener_settings false");
            lines.Add($"listener {Port} {Host}");
            lines.Add($"allow_anonymous {(_options.AllowAnonymous ? "true" : "false")}");
        }

        if (_options.Users.Count > 0)
        {
            lines.Add($"password_file {Path.Combine(Directory, "passwd")}");
        }

        if (_options.AclLines.Count > 0)
        {
            lines.Add($"acl_file {Path.Combine(Directory, "acl")}");
        }

        if (_options.DynamicSecurity)
        {
            lines.Add($"plugin {DynamicSecurityPlugin}");
            lines.Add($"plugin_opt_config_file {DynamicSecurityConfigFile}");
        }

        lines.AddRange(_options.ExtraConfigLines);
        File.WriteAllLines(ConfigFile, lines);
    }
}
