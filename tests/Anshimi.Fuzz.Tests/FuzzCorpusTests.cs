using Anshimi.Testing;

namespace Anshimi.Fuzz.Tests;

/// <summary>
/// Every seed and every regression input under fuzz/ through the same target function afl-fuzz drives, so a fixed
/// crash stays fixed and a seed that starts crashing fails here before anyone fuzzes.
/// </summary>
[Trait("Category", "Fuzz")]
public class FuzzCorpusTests
{
    private static readonly Dictionary<string, Lazy<IFuzzTarget>> Targets = FuzzTargets.Names.ToDictionary(
        name => name, name => new Lazy<IFuzzTarget>(() => FuzzTargets.Create(name, Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson"))));

    private static readonly string[] Folders = ["corpus", "regressions"];

    public static TheoryData<string, string> Inputs()
    {
        var inputs = new TheoryData<string, string>();
        foreach (string folder in Folders)
        {
            string root = RepoPaths.Combine("fuzz", folder);
            IEnumerable<string> files = Directory.Exists(root) ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories) : [];
            foreach (string file in files.Order(StringComparer.Ordinal))
            {
                string relative = Path.GetRelativePath(root, file);
                inputs.Add(relative.Split(Path.DirectorySeparatorChar)[0], Path.Combine(folder, relative));
            }
        }

        return inputs;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Input_gives_a_typed_outcome(string target, string file)
    {
        Assert.True(Targets.TryGetValue(target, out Lazy<IFuzzTarget>? fuzzTarget), $"{file} is in no target's folder");
        fuzzTarget.Value.Run(File.ReadAllBytes(RepoPaths.Combine("fuzz", file)));
    }

    [Fact]
    public void Every_target_has_a_seed_corpus()
    {
        foreach (string target in FuzzTargets.Names)
        {
            string seeds = RepoPaths.Combine("fuzz", "corpus", target);
            Assert.True(Directory.Exists(seeds) && Directory.EnumerateFiles(seeds).Any(f => new FileInfo(f).Length > 0), $"no seeds for {target} in {seeds}");
        }
    }

    [Fact]
    public void Every_corpus_folder_names_a_target()
    {
        foreach (string folder in Folders)
        {
            string root = RepoPaths.Combine("fuzz", folder);
            foreach (string directory in Directory.Exists(root) ? Directory.EnumerateDirectories(root) : [])
            {
                Assert.Contains(Path.GetFileName(directory), FuzzTargets.Names);
            }
        }
    }
}
