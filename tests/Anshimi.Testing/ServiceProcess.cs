using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Anshimi.Testing;

/// <summary>
/// One of the system's own services (gateway, cloud bridge, simulator) run as a real child process
/// from its built assembly, so tests can SIGKILL it at any instant and start it again on the same data.
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly string _assemblyPath;
    private readonly string[] _arguments;
    private readonly Dictionary<string, string> _environment;
    private readonly object _logLock = new();
    private Process? _process;

    public ServiceProcess(string name, string assemblyPath, IReadOnlyDictionary<string, string> environment, string logPath, params string[] arguments)
    {
        if (!File.Exists(assemblyPath))
        {
            throw new FileNotFoundException(name + " is not built: " + assemblyPath + " (run make build)", assemblyPath);
        }

        Name = name;
        _assemblyPath = assemblyPath;
        _arguments = arguments;
        _environment = new Dictionary<string, string>(environment, StringComparer.Ordinal);
        LogPath = logPath;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Starts { get; private set; }

    public bool IsRunning => _process is { HasExited: false };

    public int? ProcessId => IsRunning ? _process!.Id : null;

    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException(Name + " is already running");
        }

        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(_assemblyPath);
        foreach (string argument in _arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach ((string key, string value) in _environment)
        {
            info.Environment[key] = value;
        }

        info.Environment["DOTNET_NOLOGO"] = "1";
        Starts++;
        AppendLog("---- start #" + Starts + " ----");
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => AppendLog(e.Data);
        process.ErrorDataReceived += (_, e) => AppendLog(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    /// <summary>SIGKILL: the process gets no chance to flush or say goodbye.</summary>
    public void Kill()
    {
        Process? process = _process;
        if (process is { HasExited: false })
        {
            AppendLog("---- SIGKILL ----");
            process.Kill(entireProcessTree: false);
            process.WaitForExit();
        }
    }

    /// <summary>SIGTERM, then SIGKILL if it has not exited within the timeout.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        Process? process = _process;
        if (process is not { HasExited: false })
        {
            return;
        }

        _ = SendSignal(process.Id, SigTerm);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <summary>The process's peak resident set size (VmHWM) in bytes, or null when not running.</summary>
    public long? PeakResidentBytes()
    {
        int? pid = ProcessId;
        if (pid is null)
        {
            return null;
        }

        foreach (string line in File.ReadLines("/proc/" + pid + "/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return null;
    }

    public string ReadLog()
    {
        lock (_logLock)
        {
            return File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _process?.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    private void AppendLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            File.AppendAllText(LogPath, line + Environment.NewLine);
        }
    }
}
