using Anshimi.Gateway.Supervision;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests.Supervision;

public sealed class SupervisionOptionsTests
{
    [Fact]
    public void Profiles_have_their_documented_intervals_and_configuration_overrides_them()
    {
        using ServiceProvider services = Build(new()
        {
            ["Gateway:Supervision:home"] = "00:02:00",
            ["Gateway:Supervision:kiosk"] = "00:05:00",
            ["Gateway:Supervision:Default"] = "00:04:00",
        });

        SupervisionOptions options = services.GetRequiredService<IOptions<SupervisionOptions>>().Value;
        Assert.Equal(TimeSpan.FromMinutes(2), options.IntervalOf("home"));
        Assert.Equal(TimeSpan.FromMinutes(1), options.IntervalOf("shop"));
        Assert.Equal(TimeSpan.FromMinutes(1), options.IntervalOf("voice"));
        Assert.Equal(TimeSpan.FromHours(2), options.IntervalOf("battery"));
        Assert.Equal(TimeSpan.FromMinutes(5), options.IntervalOf("kiosk"));
        Assert.Equal(TimeSpan.FromMinutes(4), options.IntervalOf("unlisted"));
        Assert.Equal(TimeSpan.FromSeconds(1), options.CheckInterval);
    }

    [Theory]
    [InlineData("Gateway:Supervision:battery", "-00:10:00")]
    [InlineData("Gateway:Supervision:home", "00:00:00")]
    [InlineData("Gateway:Supervision:shop", "soon")]
    [InlineData("Gateway:Supervision:Default", "0")]
    [InlineData("Gateway:Supervision:CheckInterval", "-1")]
    public void Bad_interval_is_refused_naming_its_key(string key, string value)
    {
        using ServiceProvider services = Build(new() { [key] = value });

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<SupervisionOptions>>().Value);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddSupervisionOptions(configuration).BuildServiceProvider();
    }
}
