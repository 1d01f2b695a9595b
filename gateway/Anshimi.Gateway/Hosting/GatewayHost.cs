using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Provisioning;
using Anshimi.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Hosting;

/// <summary>
/// Starts the gateway service. <c>--config FILE</c> (or <c>ANSHIMI_GATEWAY_CONFIG</c>) adds the installation's one
/// configuration file over the defaults; <c>--check-config</c> validates everything and exits, as an installer runs
/// it before restarting the service; <c>--prepare-broker</c> sets up the local broker's dynamic-security policy and
/// the gateway's own broker account from that configuration, and exits. A configuration error is printed naming the field and ends the process with
/// exit status 78 (EX_CONFIG), which the systemd unit does not restart on.
/// </summary>
public static class GatewayHost
{
    public const int ConfigurationError = 78;
    public const string ConfigEnvironmentVariable = "ANSHIMI_GATEWAY_CONFIG";

    /// <summary>Exit status when the broker could not be prepared (EX_UNAVAILABLE).</summary>
    public const int BrokerUnavailable = 69;

    private const string CheckConfigOption = "--check-config";
    private const string PrepareBrokerOption = "--prepare-broker";

    public static int Run(string[] args)
    {
        bool checkOnly = args.Contains(CheckConfigOption);
        bool prepareBroker = args.Contains(PrepareBrokerOption);
        string? configPath = ValueAfter(args, "--config") ?? Environment.GetEnvironmentVariable(ConfigEnvironmentVariable);
        string[] hostArgs = [.. WithoutOwnOptions(args)];
        try
        {
            // appsettings.json sits next to the assembly, wherever the service is started from.
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = hostArgs, ContentRootPath = AppContext.BaseDirectory });
            if (!string.IsNullOrEmpty(configPath))
            {
                builder.Configuration.AddJsonFile(Path.GetFullPath(configPath), optional: false, reloadOnChange: false);

                // Environment and command line still win, so one setting can be overridden without editing the file.
                builder.Configuration.AddEnvironmentVariables();
                builder.Configuration.AddCommandLine(hostArgs);
            }

            builder.AddServiceDefaults(GatewayTelemetry.Service);
            builder.Services.AddGateway(builder.Configuration);
            WebApplication app = builder.Build();
            if (checkOnly)
            {
                app.Services.GetRequiredService<IStartupValidator>().Validate();
                Console.WriteLine("설정 정상 / configuration OK" + (configPath is null ? "" : ": " + configPath));
                return 0;
            }

            if (prepareBroker)
            {
                app.Services.GetRequiredService<IStartupValidator>().Validate();
                return BrokerPreparation.Run(app.Services);
            }

            app.MapDefaultEndpoints();
            app.MapInstallerApi();
            app.Run();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            return Fail(configPath, ex.Failures);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(inner => inner is OptionsValidationException))
        {
            return Fail(configPath, ex.InnerExceptions.SelectMany(inner => ((OptionsValidationException)inner).Failures));
        }
        catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException or FormatException or InvalidOperationException && IsConfigurationProblem(ex))
        {
            return Fail(configPath, [WithCauses(ex)]);
        }
    }

    /// <summary>The JSON reader's line and position sit in inner exceptions.</summary>
    private static string WithCauses(Exception ex) =>
        ex.InnerException is null ? ex.Message : ex.Message + " " + WithCauses(ex.InnerException);

    private static int Fail(string? configPath, IEnumerable<string> failures)
    {
        Console.Error.WriteLine("설정 오류 / configuration error" + (configPath is null ? "" : " in " + configPath) + ":");
        foreach (string failure in failures)
        {
            Console.Error.WriteLine("  - " + failure);
        }

        return ConfigurationError;
    }

    /// <summary>Binding and file errors, not failures of a running service.</summary>
    private static bool IsConfigurationProblem(Exception ex) =>
        ex is not InvalidOperationException || ex.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("convert", StringComparison.OrdinalIgnoreCase);

    private static string? ValueAfter(string[] args, string option)
    {
        int index = Array.IndexOf(args, option);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static IEnumerable<string> WithoutOwnOptions(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is CheckConfigOption or PrepareBrokerOption)
            {
                continue;
            }

            if (args[i] == "--config")
            {
                i++;
                continue;
            }

            yield return args[i];
        }
    }
}
