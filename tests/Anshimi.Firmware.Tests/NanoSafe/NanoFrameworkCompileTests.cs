using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Xml.Linq;
using Anshimi.Protocol;
using Anshimi.Testing;

namespace Anshimi.Firmware.Tests.NanoSafe;

/// <summary>
/// The device libraries are also compiled against nanoFramework's own mscorlib (build/NanoFramework): these
/// tests open what that build produced, so the check cannot quietly fall back to the .NET library or skip a
/// source file.
/// </summary>
public sealed class NanoFrameworkCompileTests
{
    private const string CorePackage = "nanoFramework.CoreLibrary";

    public static TheoryData<string, string> DeviceLibraries() => new()
    {
        { "Anshimi.Protocol.Nano", "Anshimi.Protocol" },
        { "Anshimi.Firmware.Core.Nano", "Anshimi.Firmware.Core" },
    };

    [Theory]
    [MemberData(nameof(DeviceLibraries))]
    public void The_device_library_references_nanoFrameworks_mscorlib_and_nothing_from_dotnet(string nanoProject, string hostLibrary)
    {
        AssemblyName mscorlib = PackageMscorlib();
        Assert.Equal(new Version(PinnedCoreLibraryVersion() + ".0"), mscorlib.Version);

        using var pe = new PEReader(File.OpenRead(NanoAssemblyPath(nanoProject)));
        MetadataReader metadata = pe.GetMetadataReader();
        var references = metadata.AssemblyReferences.Select(metadata.GetAssemblyReference).ToList();

        AssemblyReference core = Assert.Single(references, r => metadata.GetString(r.Name) == "mscorlib");
        Assert.Equal(mscorlib.Version, core.Version);
        Assert.Equal(mscorlib.GetPublicKeyToken(), metadata.GetBlobBytes(core.PublicKeyOrToken));

        // Besides mscorlib, only the other device library: no System.Runtime, netstandard or System.Private.CoreLib.
        string[] others = [.. references.Select(r => metadata.GetString(r.Name)).Where(n => n != "mscorlib")];
        Assert.All(others, name => Assert.Equal("Anshimi.Protocol.Nano", name));
        Assert.Equal(hostLibrary == "Anshimi.Firmware.Core" ? 1 : 0, others.Length);
    }

    [Theory]
    [MemberData(nameof(DeviceLibraries))]
    public void The_device_library_holds_every_type_of_the_host_library(string nanoProject, string hostLibrary)
    {
        string hostPath = hostLibrary == "Anshimi.Protocol" ? typeof(FrameCodec).Assembly.Location : typeof(PanicBell).Assembly.Location;

        Assert.Equal(TypeNames(hostPath), TypeNames(NanoAssemblyPath(nanoProject)));
    }

    [Fact]
    public void The_loaders_assembly_starter_is_compiled_against_the_reflection_of_nanoFrameworks_mscorlib()
    {
        using var pe = new PEReader(File.OpenRead(NanoAssemblyPath("Anshimi.Loader.Nano")));
        MetadataReader metadata = pe.GetMetadataReader();
        var references = metadata.AssemblyReferences.Select(metadata.GetAssemblyReference).ToList();
        AssemblyReference core = Assert.Single(references, r => metadata.GetString(r.Name) == "mscorlib");
        Assert.Equal(PackageMscorlib().Version, core.Version);
        Assert.All(references.Select(r => metadata.GetString(r.Name)), name => Assert.Contains(name, new[] { "mscorlib", "Anshimi.Firmware.Core.Nano", "Anshimi.Protocol.Nano" }));

        // Every reflection call the starter makes is bound to a member of the device's core library.
        string[] mscorlibCalls = [.. metadata.MemberReferences.Select(metadata.GetMemberReference)
            .Where(m => m.Parent.Kind == HandleKind.TypeReference)
            .Select(m => (Member: m, Type: metadata.GetTypeReference((TypeReferenceHandle)m.Parent)))
            .Where(m => m.Type.ResolutionScope.Kind == HandleKind.AssemblyReference
                && metadata.GetString(metadata.GetAssemblyReference((AssemblyReferenceHandle)m.Type.ResolutionScope).Name) == "mscorlib")
            .Select(m => metadata.GetString(m.Type.Namespace) + "." + metadata.GetString(m.Type.Name) + "." + metadata.GetString(m.Member.Name))];
        Assert.Contains("System.Reflection.Assembly.Load", mscorlibCalls);
        Assert.Contains("System.Reflection.Assembly.GetType", mscorlibCalls);
        Assert.Contains("System.Type.GetMethod", mscorlibCalls);
        Assert.Contains("System.Reflection.MethodBase.Invoke", mscorlibCalls);
        Assert.Contains("Anshimi.Firmware.Adapters.AssemblyStarter", TypeNames(NanoAssemblyPath("Anshimi.Loader.Nano")));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task An_api_that_nanoFrameworks_mscorlib_lacks_fails_the_build()
    {
        // System.Math and StringBuilder pass the banned-symbols guard; only the real core library rejects them.
        string project = Path.Combine(RepoPaths.Root, "artifacts", "nano-core-check-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(project);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(project, "Device.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <Import Project="$(RepoRoot)build/NanoFramework/NanoFramework.props" />
                  <ItemGroup><Compile Include="Code.cs" /></ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(project, "Code.cs"), """
                namespace Device
                {
                    public static class Sun
                    {
                        public static double Height(double angle) { return System.Math.Sin(angle); }
                        public static string Name(string id) { return new System.Text.StringBuilder("light-").Append(id).ToString(); }
                    }
                }
                """);

            ProcessResult build = await ProcessRunner.RunAsync("dotnet", ["build", Path.Combine(project, "Device.csproj"), "-nologo", "-v:q"], TimeSpan.FromMinutes(4));

            Assert.NotEqual(0, build.ExitCode);
            string output = build.StandardOutput + build.StandardError;
            Assert.Contains("The type or namespace name 'Math' does not exist in the namespace 'System'", output, StringComparison.Ordinal);
            Assert.Contains("The type or namespace name 'Text' does not exist in the namespace 'System'", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }

    private static string NanoAssemblyPath(string nanoProject)
    {
        string path = RepoPaths.Combine("build", "NanoFramework", nanoProject, "bin", RepoPaths.Configuration, "net10.0", nanoProject + ".dll");
        Assert.True(File.Exists(path), path + " is missing: the nanoFramework compile did not run");
        return path;
    }

    /// <summary>The version Directory.Packages.props pins for nanoFramework.CoreLibrary.</summary>
    private static string PinnedCoreLibraryVersion() =>
        (string)XDocument.Load(RepoPaths.Combine("Directory.Packages.props")).Descendants("PackageVersion")
            .Single(p => (string?)p.Attribute("Include") == CorePackage).Attribute("Version")!;

    /// <summary>The reference mscorlib in the package the nanoFramework compile restored.</summary>
    private static AssemblyName PackageMscorlib()
    {
        using JsonDocument assets = JsonDocument.Parse(File.ReadAllText(RepoPaths.Combine("build", "NanoFramework", "Anshimi.Protocol.Nano", "obj", "project.assets.json")));
        string packages = assets.RootElement.GetProperty("packageFolders").EnumerateObject().First().Name;
        string library = assets.RootElement.GetProperty("libraries").EnumerateObject().Single(l => l.Name.StartsWith(CorePackage + "/", StringComparison.Ordinal)).Value.GetProperty("path").GetString()!;
        string mscorlib = Path.Combine(packages, library, "lib", "mscorlib.dll");
        AssemblyName name = AssemblyName.GetAssemblyName(mscorlib);
        Assert.Equal("mscorlib", name.Name);
        return name;
    }

    private static string[] TypeNames(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        MetadataReader metadata = pe.GetMetadataReader();
        return [.. metadata.TypeDefinitions.Select(metadata.GetTypeDefinition)
            .Where(t => t.GetDeclaringType().IsNil)
            .Select(t => metadata.GetString(t.Namespace) + "." + metadata.GetString(t.Name))
            .Where(n => n.StartsWith("Anshimi.", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
    }
}
