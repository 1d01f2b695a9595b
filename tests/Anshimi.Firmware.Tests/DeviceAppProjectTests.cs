using System.Text.RegularExpressions;
using System.Xml.Linq;
using Anshimi.Testing;

namespace Anshimi.Firmware.Tests;

/// <summary>
/// The nanoFramework applications cannot be built here, so their project files are checked as text: every
/// source they compile exists, every source in their folder is compiled, and every assembly they reference
/// comes from a package their packages.config pins at that version.
/// </summary>
public sealed partial class DeviceAppProjectTests
{
    public static TheoryData<string> Projects() => new(ProjectPaths());

    private static string[] ProjectPaths() =>
        [.. Directory.EnumerateFiles(RepoPaths.Combine("firmware"), "*.nfproj", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(path => Path.GetRelativePath(RepoPaths.Root, path))];

    [Fact]
    public void Every_device_has_its_app_and_every_board_the_loader()
    {
        Assert.Equal(4, ProjectPaths().Length);
        Assert.Contains(Path.Combine("firmware", "Anshimi.Loader.Device", "Anshimi.Loader.Device.nfproj"), ProjectPaths());
    }

    [Fact]
    public void The_loader_deploys_every_library_an_app_references_at_the_newest_version_an_app_pins()
    {
        // A slot's application resolves its references to the libraries deployed with the loader (firmware/README.md):
        // a library missing there would leave the application unable to start.
        Dictionary<string, Version> loader = Pinned(RepoPaths.Combine("firmware", "Anshimi.Loader.Device", "packages.config"));
        foreach (string project in ProjectPaths().Where(p => !p.Contains("Loader", StringComparison.Ordinal)))
        {
            foreach ((string id, Version version) in Pinned(Path.Combine(Path.GetDirectoryName(RepoPaths.Combine(project))!, "packages.config")))
            {
                Assert.True(loader.TryGetValue(id, out Version? deployed), project + ": " + id + " is not deployed with the loader");
                Assert.True(deployed >= version, project + ": " + id + " " + version + " is newer than the loader's " + deployed);
            }
        }
    }

    private static Dictionary<string, Version> Pinned(string packagesConfig) =>
        XDocument.Load(packagesConfig).Root!.Elements("package")
            .ToDictionary(p => (string)p.Attribute("id")!, p => Version.Parse((string)p.Attribute("version")!), StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(Projects))]
    public void Every_compiled_source_exists_and_every_source_in_the_app_folder_is_compiled(string project)
    {
        string path = RepoPaths.Combine(project);
        string folder = Path.GetDirectoryName(path)!;
        var compiled = new HashSet<string>(StringComparer.Ordinal);
        foreach (string include in Items(path, "Compile"))
        {
            string[] matches = Expand(folder, include);
            Assert.True(matches.Length > 0, project + ": <Compile Include=\"" + include + "\"> matches no file");
            compiled.UnionWith(matches);
        }

        string[] unused = [.. Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(Path.GetFullPath)
            .Where(f => !compiled.Contains(f))];
        Assert.Empty(unused);
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void Every_referenced_assembly_comes_from_a_pinned_package(string project)
    {
        string path = RepoPaths.Combine(project);
        Dictionary<string, string> pinned = XDocument.Load(Path.Combine(Path.GetDirectoryName(path)!, "packages.config")).Root!
            .Elements("package").ToDictionary(p => (string)p.Attribute("id")!, p => (string)p.Attribute("version")!, StringComparer.Ordinal);
        XNamespace msbuild = XDocument.Load(path).Root!.Name.Namespace;
        string[] hintPaths = [.. XDocument.Load(path).Descendants(msbuild + "HintPath").Select(h => h.Value)];
        Assert.NotEmpty(hintPaths);
        foreach (string hint in hintPaths)
        {
            Match package = PackageFolder().Match(hint);
            Assert.True(package.Success, project + ": hint path outside packages\\: " + hint);
            string id = package.Groups["id"].Value;
            Assert.True(pinned.TryGetValue(id, out string? version), project + ": " + id + " is referenced but not in packages.config");
            Assert.Equal(version, package.Groups["version"].Value);
        }
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void Every_app_builds_on_the_core_library_the_device_code_is_compiled_against_here(string project)
    {
        // build/NanoFramework compiles the linked device code against this mscorlib; an app on another one would
        // run code that was never checked against its own core library.
        string checkedVersion = (string)XDocument.Load(RepoPaths.Combine("Directory.Packages.props")).Descendants("PackageVersion")
            .Single(p => (string?)p.Attribute("Include") == "nanoFramework.CoreLibrary").Attribute("Version")!;
        string config = Path.Combine(Path.GetDirectoryName(RepoPaths.Combine(project))!, "packages.config");
        XElement core = Assert.Single(XDocument.Load(config).Root!.Elements("package"), p => (string?)p.Attribute("id") == "nanoFramework.CoreLibrary");

        Assert.Equal(checkedVersion, (string?)core.Attribute("version"));
    }

    private static IEnumerable<string> Items(string project, string kind)
    {
        XDocument document = XDocument.Load(project);
        XNamespace msbuild = document.Root!.Name.Namespace;
        return document.Descendants(msbuild + kind).Select(e => (string?)e.Attribute("Include")).OfType<string>();
    }

    /// <summary>The files an MSBuild include matches: relative to the project, with <c>*</c> and <c>**</c>.</summary>
    private static string[] Expand(string folder, string include)
    {
        string pattern = include.Replace('\\', Path.DirectorySeparatorChar);
        string fileName = Path.GetFileName(pattern);
        string directoryPart = Path.GetDirectoryName(pattern) ?? "";
        bool recursive = directoryPart.EndsWith("**", StringComparison.Ordinal);
        string directory = Path.GetFullPath(Path.Combine(folder, recursive ? directoryPart[..^2] : directoryPart));
        if (!Directory.Exists(directory))
        {
            return [];
        }

        return [.. Directory.EnumerateFiles(directory, fileName, recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(Path.GetFullPath)];
    }

    [GeneratedRegex(@"^packages\\(?<id>[A-Za-z][A-Za-z0-9.]*?)\.(?<version>\d+(\.\d+)+)\\lib\\[^\\]+\.dll$")]
    private static partial Regex PackageFolder();
}
