using Anshimi.Fuzz;
using SharpFuzz;

// dotnet Anshimi.Fuzz.dll <target>: one input on stdin, or afl-fuzz's inputs when run under it.
if (args.Length != 1 || !FuzzTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine("usage: Anshimi.Fuzz <target>; targets: " + string.Join(", ", FuzzTargets.Names));
    return 2;
}

string districtsFile = Environment.GetEnvironmentVariable("ANSHIMI_DISTRICTS_FILE") ?? "";
if (!File.Exists(districtsFile))
{
    Console.Error.WriteLine("ANSHIMI_DISTRICTS_FILE must name seoul-municipalities.geojson");
    return 2;
}

IFuzzTarget? target = null;
Fuzzer.OutOfProcess.Run(stream =>
{
    target ??= FuzzTargets.Create(args[0], districtsFile);
    using var input = new MemoryStream();
    stream.CopyTo(input);
    target.Run(input.ToArray());
});
return 0;
