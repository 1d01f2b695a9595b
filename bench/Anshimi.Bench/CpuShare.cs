using System.Diagnostics;
using System.Globalization;

namespace Anshimi.Bench;

/// <summary>The CPU time (utime + stime from /proc/PID/stat) some processes used since it was created, as a share of one core.</summary>
internal sealed class CpuShare
{
    private const double ClockTicksPerSecond = 100;
    private readonly string[] _processes;
    private readonly double[] _start;
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private readonly (double Busy, double IoWait, double All) _machineStart = Machine();

    public CpuShare(params string[] processes)
    {
        _processes = processes;
        _start = [.. processes.Select(CpuSeconds)];
    }

    public string Describe()
    {
        double wall = Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;
        return string.Join(" / ", _processes.Select((p, i) => (100 * (CpuSeconds(p) - _start[i]) / wall).ToString("F0", CultureInfo.InvariantCulture) + " %")) + " of one core";
    }

    /// <summary>
    /// What the processes used together beside what the whole machine's cores were busy with (everyone's processes) and
    /// waiting on the disk (iowait), as shares of all cores, from /proc/stat.
    /// </summary>
    public string DescribeAgainstMachine()
    {
        double wall = Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;
        double ours = _processes.Select((p, i) => CpuSeconds(p) - _start[i]).Sum() / (wall * Environment.ProcessorCount);
        (double busy, double ioWait, double all) = Machine();
        double elapsed = all - _machineStart.All;
        return string.Create(CultureInfo.InvariantCulture,
            $"{100 * ours:F0} % ours, {100 * (busy - _machineStart.Busy) / elapsed:F0} % busy in all, {100 * (ioWait - _machineStart.IoWait) / elapsed:F0} % iowait, of {Environment.ProcessorCount} cores");
    }

    private static double CpuSeconds(string process)
    {
        string stat = File.ReadAllText("/proc/" + process + "/stat");

        // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
    }

    /// <summary>The first line of /proc/stat: user nice system idle iowait irq softirq steal, in clock ticks over all cores.</summary>
    private static (double Busy, double IoWait, double All) Machine()
    {
        double[] ticks = [.. File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(t => double.Parse(t, CultureInfo.InvariantCulture))];
        double idle = ticks[3];
        double ioWait = ticks[4];
        double all = ticks.Sum();
        return (all - idle - ioWait, ioWait, all);
    }
}
