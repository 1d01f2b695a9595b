using Anshimi.Fuzz;
using SharpFuzz;

// dotnet Anshimi.Fuzz.dll <target>: one input on stdin, or afl-fuzz's inputs when run under it.
string districtsFile = Environment.GetEnvironmentVariable("ANSHIMI_DISTRICTS_FILE") ?? "";
IReadOnlyList<IFuzzTarget> targets = File.Exists(districtsFile)
    ? FuzzTargets.Create(districtsFile)
    : throw new FileNotFoundException("ANSHIMI_DISTRICTS_FILE must name seoul-municipalities.geojson", districtsFile);
IFuzzTarget? target = targets.FirstOrDefault(t => args.Length == 1 && t.Name == args[0]);
if (target is null)
{
    Console.Error.WriteLine("usage: Anshimi.Fuzz <target>; targets: " + string.Join(", ", targets.Select(t => t.Name)));
    return 2;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var input = new MemoryStream();
    stream.CopyTo(input);
    target.Run(input.ToArray());
});
return 0;
