using Anshimi.Gateway.Hosting;
using Anshimi.Gateway.Provisioning;

// appsettings.json sits next to the assembly, wherever the service is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddGatewayLogging();
builder.Services.AddGateway(builder.Configuration);

var app = builder.Build();
app.MapGatewayEndpoints();
app.MapInstallerApi();
app.Run();
