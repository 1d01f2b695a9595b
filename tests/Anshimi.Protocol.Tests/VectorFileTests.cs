using System.Diagnostics;

namespace Anshimi.Protocol.Tests;

/// <summary>frames.json is exactly what the independent Python encoder writes, so nobody edits a vector by hand.</summary>
[Trait("Category", "Protocol")]
public sealed class VectorFileTests
{
    [Fact]
    public void Regenerating_the_vectors_with_generate_py_gives_the_committed_file()
    {
        string vectors = Path.Combine(Repository.Root(), "protocol", "vectors");
        var start = new ProcessStartInfo("python3", Path.Combine(vectors, "generate.py")) { RedirectStandardOutput = true, UseShellExecute = false };
        using Process python = Process.Start(start)!;
        string generated = python.StandardOutput.ReadToEnd();
        python.WaitForExit();

        Assert.Equal(0, python.ExitCode);
        Assert.Equal(File.ReadAllText(Path.Combine(vectors, "frames.json")).TrimEnd(), generated.TrimEnd());
    }
}
