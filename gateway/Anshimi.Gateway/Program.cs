using Anshimi.Gateway.Hosting;

return GatewayHost.Run(args);
