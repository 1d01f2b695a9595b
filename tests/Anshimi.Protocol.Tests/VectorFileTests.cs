using System.Diagnostics;

namespace Anshimi.Protocol.Tests;

/// <summary>frames.json is exactly what the independent Python encoder writes, so nobody edits a vector by hand.</summary>
[Trait("Category", "Protocol")]
public sealed class VectorFileTests
{
    [Fact]
    public void Regenerating_the_vectors_with_generate_py_gives_the_committed_file()
    {
        string vectors = Path.Combine(RepositoryRoot(), "protocol", "vectors");
        var start = new ProcessStartInfo("python3", Path.Combine(vectors, "generate.py")) { RedirectStandardOutput = true, UseShellExecute = false };
        using Process python = Process.Start(start)!;
        string generated = python.StandardOutput.ReadToEnd();
        python.WaitForExit();

        Assert.Equal(0, python.ExitCode);
        Assert.Equal(File.ReadAllText(Path.Combine(vectors, "frames.json")).TrimEnd(), generated.TrimEnd());
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Anshimi.Iot.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Anshimi.Iot.sln not found above " + AppContext.BaseDirectory);
    }
}
