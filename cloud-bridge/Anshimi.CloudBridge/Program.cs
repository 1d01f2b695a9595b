using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Streetlights;

if (GenerateLightsCommand.Matches(args))
{
    return GenerateLightsCommand.Run(args, Console.Out, Console.Error);
}

if (CloudBridgeCommands.Handles(args))
{
    return await CloudBridgeCommands.RunAsync(args);
}

// Content root is the application directory, so appsettings.json and the console are found from any working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddCloudBridge();

var app = builder.Build();
app.MapCloudBridge();
await app.RunAsync();
return 0;
