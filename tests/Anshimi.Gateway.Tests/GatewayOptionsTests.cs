using Anshimi.Gateway.Hosting;
using Anshimi.Gateway.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
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

    [Theory]
    [InlineData("mqtt://cloud.example:1883", "Cloud:Url")]
    [InlineData("mqtts://", "Cloud:Url")]
    [InlineData("mqtts://cloud.example:8883/path", "Cloud:Url")]
    [InlineData("mqtts://node1.example:8883, mqtt://node2.example:1883", "Cloud:Url")]
    [InlineData("mqtts://node1.example:8883,", "Cloud:Url")]
    public void A_cloud_url_that_is_not_mqtts_host_port_is_refused(string url, string named)
    {
        using ServiceProvider services = Build(new() { ["Gateway:Id"] = "gw", ["Cloud:Url"] = url });

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<CloudLinkOptions>>().Value);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cloud_link_needs_the_ca_its_certificate_and_a_key_that_loads()
    {
        string directory = Directory.CreateTempSubdirectory("anshimi-cloud-options-").FullName;
        try
        {
            string notPem = Path.Combine(directory, "gateway.key");
            File.WriteAllText(notPem, "not a key");
            using ServiceProvider missing = Build(new() { ["Gateway:Id"] = "gw", ["Cloud:Url"] = "mqtts://cloud.example" });
            OptionsValidationException none = Assert.Throws<OptionsValidationException>(() => missing.GetRequiredService<IOptions<CloudLinkOptions>>().Value);
            Assert.Equal(3, none.Failures.Count(f => f.Contains("is required with Cloud:Url", StringComparison.Ordinal)));

            using ServiceProvider bad = Build(new()
            {
                ["Gateway:Id"] = "gw",
                ["Cloud:Url"] = "mqtts://cloud.example",
                ["Cloud:CaFile"] = notPem,
                ["Cloud:CertificateFile"] = notPem,
                ["Cloud:KeyFile"] = notPem,
            });
            OptionsValidationException unreadable = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<CloudLinkOptions>>().Value);
            Assert.Contains("Cloud:CaFile", unreadable.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Without_a_cloud_url_the_box_broker_session_carries_the_gateways_status_and_last_will()
    {
        using ServiceProvider services = Build(new() { ["Gateway:Id"] = "gw" });

        Assert.False(services.GetRequiredService<IOptions<CloudLinkOptions>>().Value.IsSeparate);
        Assert.Equal("anshimi/v1/gw/gw/status", services.GetRequiredService<IOptions<Mqtt.MqttClientOptions>>().Value.LastWill!.Topic);
    }

    [Fact]
    public void The_cloud_link_and_the_box_session_both_send_the_gateways_client_id_of_the_brokers_rule()
    {
        var cloud = new CloudLinkOptions { Url = "mqtts://cloud.example:8883", CaFile = "ca.crt", CertificateFile = "gateway.crt", KeyFile = "gateway.key" };
        using ServiceProvider services = Build(new() { ["Gateway:Id"] = "gw-a" });

        Mqtt.MqttClientOptions link = cloud.ToClientOptions("gw-a", new Mqtt.MqttLastWill { Topic = "anshimi/v1/gw/gw-a/status", Payload = [] });

        Assert.Equal(BrokerListeners.AccountClientId("gateway-gw-a"), link.ClientId);
        Assert.StartsWith(BrokerListeners.ClientIdPrefix, link.ClientId, StringComparison.Ordinal);
        Assert.Equal(BrokerListeners.AccountClientId("gateway-gw-a"), services.GetRequiredService<IOptions<Mqtt.MqttClientOptions>>().Value.ClientId);
    }

    [Fact]
    public void A_cloud_url_naming_each_node_of_a_clustered_endpoint_gives_the_link_every_node_in_order()
    {
        var cloud = new CloudLinkOptions { Url = "mqtts://node1.example:8883, mqtts://node2.example:8884,mqtts://node3.example", CaFile = "ca.crt", CertificateFile = "gateway.crt", KeyFile = "gateway.key" };

        Mqtt.MqttClientOptions link = cloud.ToClientOptions("gw-a", new Mqtt.MqttLastWill { Topic = "anshimi/v1/gw/gw-a/status", Payload = [] });

        Assert.Equal(["node1.example:8883", "node2.example:8884", "node3.example:8883"], link.Endpoints);
        Assert.Equal(["node1.example:8883"], new CloudLinkOptions { Url = "mqtts://node1.example" }.ToClientOptions("gw-a", new Mqtt.MqttLastWill { Topic = "t", Payload = [] }).Endpoints);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddGatewayOptions(configuration).BuildServiceProvider();
    }
}
