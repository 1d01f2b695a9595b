using Anshimi.CloudBridge.Hosting;

// Content root is the application directory, so appsettings.json and the console are found from any working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddCloudBridge();

var app = builder.Build();
app.MapCloudBridge();
app.Run();
