namespace Anshimi.Geo.Tests;

/// <summary>The shipped Seoul data (../shared/data beside the repository) and small malformed copies of it.</summary>
internal static class SeoulDataFiles
{
    public static readonly Lazy<SeoulDistricts> Districts = new(() => SeoulDistricts.Load(Path("seoul-municipalities.geojson")));

    public static string Path(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, "shared", "data", file);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("shared/data/" + file + " not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A temporary copy of <paramref name="file"/> with <paramref name="edit"/> applied to its lines.</summary>
    public static string EditedCopy(string file, Func<string[], string[]> edit)
    {
        string copy = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "anshimi-geo-" + Guid.NewGuid().ToString("N") + "-" + file);
        File.WriteAllLines(copy, edit(File.ReadAllLines(Path(file))));
        return copy;
    }
}
