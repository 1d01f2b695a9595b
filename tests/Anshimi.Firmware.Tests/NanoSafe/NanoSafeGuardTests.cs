using Anshimi.Testing;

namespace Anshimi.Firmware.Tests.NanoSafe;

/// <summary>
/// The nano-safe guard (build/NanoSafe.props) really fails a build: a throwaway project inside the
/// repository imports it, once with device code that breaks the rules and once with code that keeps them.
/// </summary>
[Trait("Category", "Slow")]
public sealed class NanoSafeGuardTests : IDisposable
{
    private readonly string _project = Path.Combine(RepoPaths.Root, "artifacts", "nano-safe-check-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task Device_code_that_breaks_the_rules_fails_the_build_naming_each_construct()
    {
        ProcessResult build = await BuildAsync("""
            namespace Device
            {
                public static class Code
                {
                    public static object Items() { return new System.Collections.Generic.List<int>(); }
                    public static object Later() { return System.Threading.Tasks.Task.CompletedTask; }
                    public static object Now() { return System.DateTime.UtcNow; }
                    public static int Count(int[] values) { return System.Linq.Enumerable.Count(values); }
                    public static string Name(System.DayOfWeek day) { return day.ToString(); }
                }
            }
            """);

        Assert.NotEqual(0, build.ExitCode);
        string output = build.StandardOutput + build.StandardError;
        Assert.Contains("'List<T>' is banned", output, StringComparison.Ordinal);
        Assert.Contains("'Task' is banned", output, StringComparison.Ordinal);
        Assert.Contains("'DateTime.UtcNow' is banned", output, StringComparison.Ordinal);
        Assert.Contains("'Enumerable' is banned", output, StringComparison.Ordinal);
        Assert.Contains("'Enum.ToString()' is banned", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Language_features_newer_than_the_device_compiler_fail_the_build()
    {
        ProcessResult build = await BuildAsync("""
            namespace Device
            {
                public sealed class Reading
                {
                    public int Value { get; init; }
                }
            }
            """);

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("CS8400", build.StandardOutput + build.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Math_queues_and_text_encoding_outside_nanoFrameworks_core_library_fail_the_build()
    {
        // nanoFramework keeps these in packages of their own; the device code has portable replacements.
        ProcessResult build = await BuildAsync("""
            namespace Device
            {
                public static class Lamp
                {
                    public static float Sine(float x) { return System.MathF.Sin(x); }
                    public static double HourAngle(double cos) { return System.Math.Acos(cos); }
                    public static object Inbox() { return new System.Collections.Queue(); }
                    public static byte[] Name(string id) { return System.Text.Encoding.UTF8.GetBytes(new System.Text.StringBuilder(id).ToString()); }
                }
            }
            """);

        Assert.NotEqual(0, build.ExitCode);
        string output = build.StandardOutput + build.StandardError;
        Assert.Contains("'MathF' is banned", output, StringComparison.Ordinal);
        Assert.Contains("'Math' is banned", output, StringComparison.Ordinal);
        Assert.Contains("'Queue' is banned", output, StringComparison.Ordinal);
        Assert.Contains("'Encoding' is banned", output, StringComparison.Ordinal);
        Assert.Contains("'StringBuilder' is banned", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Device_code_that_keeps_the_rules_builds()
    {
        ProcessResult build = await BuildAsync("""
            namespace Device
            {
                public delegate void Pressed(long atMs);

                public sealed class Code
                {
                    private readonly System.Collections.ArrayList _items = new System.Collections.ArrayList();

                    public event Pressed? OnPressed;

                    public int Add(int value) { _items.Add(value); OnPressed?.Invoke(value); return _items.Count; }
                }
            }
            """);

        Assert.True(build.ExitCode == 0, build.StandardOutput + build.StandardError);
    }

    public void Dispose()
    {
        if (Directory.Exists(_project))
        {
            Directory.Delete(_project, recursive: true);
        }
    }

    private async Task<ProcessResult> BuildAsync(string source)
    {
        Directory.CreateDirectory(_project);
        await File.WriteAllTextAsync(Path.Combine(_project, "Device.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <Import Project="$(RepoRoot)build/NanoSafe.props" />
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(_project, "Code.cs"), source);
        return await ProcessRunner.RunAsync("dotnet", ["build", Path.Combine(_project, "Device.csproj"), "-nologo", "-v:q"], TimeSpan.FromMinutes(4));
    }
}
