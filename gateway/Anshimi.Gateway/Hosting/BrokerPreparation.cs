using Anshimi.Gateway.Provisioning;
using Anshimi.Mqtt;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Hosting;

/// <summary>
/// <c>--prepare-broker</c>: what the box's own Mosquitto needs before the service starts — the dynamic-security
/// policy provisioning relies on, and the gateway's broker account (the user and password of its configuration)
/// with only the gateway's topics. Run by the install target after the broker restarts with the plugin.
/// </summary>
public static class BrokerPreparation
{
    public static int Run(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetService<DynamicSecurity>() is not DynamicSecurity dynamicSecurity)
        {
            Console.Error.WriteLine("브로커 준비 불가 / cannot prepare the broker: Provisioning:Enabled is false (the dynamic-security admin is configured there)");
            return GatewayHost.ConfigurationError;
        }

        MqttClientOptions mqtt = services.GetRequiredService<IOptions<MqttClientOptions>>().Value;
        string gatewayId = services.GetRequiredService<IOptions<GatewayOptions>>().Value.Id;
        if (string.IsNullOrEmpty(mqtt.Username) || string.IsNullOrEmpty(mqtt.Password))
        {
            Console.Error.WriteLine("브로커 준비 불가 / cannot prepare the broker: Mqtt:Username and Mqtt:Password must be set");
            return GatewayHost.ConfigurationError;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            dynamicSecurity.EnsureBrokerPolicyAsync(timeout.Token).GetAwaiter().GetResult();
            dynamicSecurity.EnsureGatewayAccountAsync(mqtt.Username, mqtt.Password, gatewayId, timeout.Token).GetAwaiter().GetResult();
            dynamicSecurity.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is DynamicSecurityException or OperationCanceledException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine("브로커 준비 실패 / preparing the broker failed: " + ex.Message);
            return GatewayHost.BrokerUnavailable;
        }

        Console.WriteLine("브로커 준비 완료 / broker prepared: policy in place, account '" + mqtt.Username + "' for gateway " + gatewayId);
        return 0;
    }
}
