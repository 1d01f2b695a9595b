namespace Anshimi.Hardware.Tests;

/// <summary>Finds the repository (the directory holding Anshimi.Iot.sln) and the hardware data in it.</summary>
public static class RepoFiles
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    public static string Hardware => Path.Combine(Root, "hardware");

    public static string RulesFile => Path.Combine(Hardware, "esp32-rules.json");

    /// <summary>The gateway box: a Raspberry Pi, checked by its own rules (<see cref="GatewayBox"/>), not the ESP32 ones.</summary>
    public static string Gateway => Path.Combine(Hardware, "gateway");

    /// <summary>Every ESP32 device folder, i.e. every <c>hardware/*</c> directory that holds a pins.json, but the gateway's.</summary>
    public static IReadOnlyList<string> DeviceDirectories() =>
        Directory.GetDirectories(Hardware)
            .Where(d => File.Exists(Path.Combine(d, "pins.json")) && d != Gateway)
            .OrderBy(d => d, StringComparer.Ordinal)
            .ToList();

    public static string DevicePath(string device, string file) => Path.Combine(Hardware, device, file);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Anshimi.Iot.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Anshimi.Iot.sln not found above " + AppContext.BaseDirectory);
    }
}
