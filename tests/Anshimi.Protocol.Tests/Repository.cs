namespace Anshimi.Protocol.Tests;

/// <summary>The checkout the tests run from: the specification and the vector encoder live there.</summary>
public static class Repository
{
    public static string Root()
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
