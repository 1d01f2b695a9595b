using System.CommandLine;
using Anshimi.Installer;

return await new InstallerCommands(Console.Out, Console.Error).Build().Parse(args).InvokeAsync();
