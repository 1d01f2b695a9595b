using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Power;

/// <summary>Turns the box off once its stores are safe.</summary>
public interface IPowerOff
{
    Task PowerOffAsync(CancellationToken cancellationToken);
}

/// <summary>Runs <see cref="PowerOptions.ShutdownCommand"/> (default <c>systemctl poweroff</c>, which stops this service cleanly too).</summary>
public sealed partial class PowerOffCommand(IOptions<PowerOptions> options, ILogger<PowerOffCommand> logger) : IPowerOff
{
    public async Task PowerOffAsync(CancellationToken cancellationToken)
    {
        string[] words = options.Value.ShutdownCommand.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var start = new ProcessStartInfo(words[0]) { UseShellExecute = false };
        foreach (string argument in words.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        LogRunning(logger, options.Value.ShutdownCommand);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"'{options.Value.ShutdownCommand}' did not start");
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            LogFailed(logger, options.Value.ShutdownCommand, process.ExitCode);
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Battery critical: running '{Command}'")]
    private static partial void LogRunning(ILogger logger, string command);

    [LoggerMessage(Level = LogLevel.Critical, Message = "'{Command}' exited with {ExitCode}; the box stays on until the battery gives out")]
    private static partial void LogFailed(ILogger logger, string command, int exitCode);
}
