namespace Anshimi.Testing;

/// <summary>Locates the repository and its build outputs from a running test or benchmark.</summary>
public static class RepoPaths
{
    private const string SolutionFile = "Anshimi.Iot.sln";

    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The directory that holds <c>Anshimi.Iot.sln</c>.</summary>
    public static string Root => RootPath.Value;

    /// <summary>Shared reference data (districts, streetlights) kept next to the repository in <c>../shared/data</c>.</summary>
    public static string SharedData => Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));

    /// <summary>The build configuration of the running assembly ("Debug" or "Release"), read from its output path.</summary>
    public static string Configuration
    {
        get
        {
            var parts = AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            var bin = Array.LastIndexOf(parts, "bin");
            return bin >= 0 && bin + 1 < parts.Length ? parts[bin + 1] : "Debug";
        }
    }

    /// <summary>A path inside the repository, e.g. <c>RepoPaths.Combine("protocol", "README.md")</c>.</summary>
    public static string Combine(params string[] relative) => Path.Combine([Root, .. relative]);

    /// <summary>
    /// The built assembly of another project in the same configuration as the caller, e.g.
    /// <c>ProjectOutput("gateway/Anshimi.Gateway", "Anshimi.Gateway.dll")</c>; throws if it has not been built.
    /// </summary>
    public static string ProjectOutput(string projectDirectory, string fileName, string targetFramework = "net10.0")
    {
        var path = Path.Combine(Root, projectDirectory, "bin", Configuration, targetFramework, fileName);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"'{path}' does not exist; build '{projectDirectory}' first.", path);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, SolutionFile)))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No {SolutionFile} above {AppContext.BaseDirectory}.");
    }
}
