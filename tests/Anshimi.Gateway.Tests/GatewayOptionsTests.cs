using Anshimi.Gateway.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests;

public sealed class GatewayOptionsTests
{
    [Theory]
    [InlineData("")]
    [InlineData("gw/one")]
    [InlineData("gw+")]
    [InlineData("#")]
    public void Gateway_id_that_is_missing_or_not_one_topic_level_is_refused(string id)
    {
        using ServiceProvider services = Build(new() { ["Gateway:Id"] = id });

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<GatewayOptions>>().Value);
        Assert.Contains("Gateway:Id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retry_cap_below_the_retry_interval_is_refused()
    {
        using ServiceProvider services = Build(new()
        {
            ["Gateway:Id"] = "gw",
            ["Gateway:OutboxRetryInterval"] = "00:00:10",
            ["Gateway:OutboxRetryMaxInterval"] = "00:00:05",
        });

        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<GatewayOptions>>().Value);
    }

    [Fact]
    public void Configured_broker_client_id_and_credentials_are_kept_but_the_session_is_always_persistent()
    {
        using ServiceProvider services = Build(new()
        {
            ["Gateway:Id"] = "gw",
            ["Mqtt:ClientId"] = "gateway-7",
            ["Mqtt:Username"] = "gateway",
            ["Mqtt:Password"] = "from-the-environment",
            ["Mqtt:CleanSession"] = "true",
        });

        Mqtt.MqttClientOptions mqtt = services.GetRequiredService<IOptions<Mqtt.MqttClientOptions>>().Value;
        Assert.Equal("gateway-7", mqtt.ClientId);
        Assert.Equal("from-the-environment", mqtt.Password);
        Assert.False(mqtt.CleanSession);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddGatewayOptions(configuration).BuildServiceProvider();
    }
}
