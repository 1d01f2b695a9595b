using System.Diagnostics;
using System.Text;

namespace Anshimi.Testing;

public sealed record ProcessResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError)
{
    public ProcessResult EnsureSuccess() =>
        ExitCode == 0
            ? this
            : throw new InvalidOperationException($"'{CommandLine}' exited with {ExitCode}.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
}

/// <summary>Runs command-line peers (mosquitto_pub, mosquitto_sub, mosquitto_passwd, ...) with bounded waits.</summary>
public static class ProcessRunner
{
    /// <summary>Runs to completion; kills the process and throws <see cref="TimeoutException"/> when it outlives <paramref name="timeout"/>.</summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken = default,
        byte[]? standardInput = null)
    {
        await using var process = Start(fileName, arguments, redirectStandardInput: standardInput is not null);
        if (standardInput is not null)
        {
            await process.WriteStandardInputAsync(standardInput, cancellationToken).ConfigureAwait(false);
        }

        var exitCode = await process.WaitForExitAsync(timeout, cancellationToken).ConfigureAwait(false);
        return new ProcessResult(process.CommandLine, exitCode, process.StandardOutput, process.StandardError);
    }

    /// <summary>Starts a long-running peer whose output lines the caller waits for.</summary>
    public static RunningProcess Start(string fileName, IEnumerable<string> arguments) => Start(fileName, arguments, redirectStandardInput: false);

    private static RunningProcess Start(string fileName, IEnumerable<string> arguments, bool redirectStandardInput)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStandardInput,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return new RunningProcess(startInfo);
    }
}

/// <summary>A started process whose stdout lines and stderr are captured as they arrive.</summary>
public sealed class RunningProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Lock _gate = new();
    private readonly List<string> _outputLines = [];
    private readonly StringBuilder _standardError = new();
    private readonly List<LineWaiter> _waiters = [];
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal RunningProcess(ProcessStartInfo startInfo)
    {
        CommandLine = string.Join(' ', [startInfo.FileName, .. startInfo.ArgumentList]);
        _process = new Process { StartInfo = startInfo };
        _process.OutputDataReceived += (_, e) => OnOutputLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnErrorLine(e.Data);
        if (!_process.Start())
        {
            throw new InvalidOperationException($"Could not start '{CommandLine}'.");
        }

        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string CommandLine { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> OutputLines
    {
        get
        {
            lock (_gate)
            {
                return [.. _outputLines];
            }
        }
    }

    public string StandardOutput => string.Join('\n', OutputLines);

    public string StandardError
    {
        get
        {
            lock (_gate)
            {
                return _standardError.ToString();
            }
        }
    }

    /// <summary>
    /// The first stdout line (already seen or still to come) that matches. Throws <see cref="TimeoutException"/>
    /// with everything captured so far when none arrives in time or the process ends first.
    /// </summary>
    public async Task<string> WaitForOutputLineAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var waiter = new LineWaiter(match);
        lock (_gate)
        {
            var seen = _outputLines.FirstOrDefault(match);
            if (seen is not null)
            {
                return seen;
            }

            if (_outputClosed.Task.IsCompleted)
            {
                throw Failure("exited before printing the expected line");
            }

            _waiters.Add(waiter);
        }

        try
        {
            return await waiter.Found.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw Failure($"printed no matching line within {timeout.TotalSeconds:0.#} s");
        }
        finally
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>Waits for exit and for its output to be drained; kills it and throws <see cref="TimeoutException"/> on timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(_outputClosed.Task, _errorClosed.Task).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return _process.ExitCode;
        }
        catch (TimeoutException)
        {
            Kill();
            throw Failure($"did not exit within {timeout.TotalSeconds:0.#} s and was killed");
        }
    }

    public async Task WriteStandardInputAsync(byte[] data, CancellationToken cancellationToken = default)
    {
        var input = _process.StandardInput.BaseStream;
        await input.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        await input.FlushAsync(cancellationToken).ConfigureAwait(false);
        _process.StandardInput.Close();
    }

    /// <summary>SIGTERM: lets the process shut down cleanly.</summary>
    public void Terminate()
    {
        if (!_process.HasExited)
        {
            Posix.Signal(_process.Id, Posix.SigTerm);
        }
    }

    /// <summary>SIGKILL to the process and its children.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _process.Dispose();
    }

    private TimeoutException Failure(string what) =>
        new($"'{CommandLine}' {what}.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");

    private void OnOutputLine(string? line)
    {
        List<LineWaiter> matched = [];
        lock (_gate)
        {
            if (line is null)
            {
                _outputClosed.TrySetResult();
                matched.AddRange(_waiters);
            }
            else
            {
                _outputLines.Add(line);
                matched.AddRange(_waiters.Where(w => w.Match(line)));
            }
        }

        foreach (var waiter in matched)
        {
            if (line is null)
            {
                waiter.Found.TrySetException(Failure("exited before printing the expected line"));
            }
            else
            {
                waiter.Found.TrySetResult(line);
            }
        }
    }

    private void OnErrorLine(string? line)
    {
        lock (_gate)
        {
            if (line is null)
            {
                _errorClosed.TrySetResult();
            }
            else
            {
                _standardError.AppendLine(line);
            }
        }
    }

    private sealed class LineWaiter(Func<string, bool> match)
    {
        public Func<string, bool> Match { get; } = match;

        public TaskCompletionSource<string> Found { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
