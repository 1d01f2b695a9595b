using System.CommandLine;
using Anshimi.Release;

return await new ReleaseCommands(Console.Out, Console.Error, TimeProvider.System).Build().Parse(args).InvokeAsync();
