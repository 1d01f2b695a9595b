using Anshimi.CloudBridge.Upstreams;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Tests.Upstreams;

public sealed class UpstreamsOptionsTests
{
    private static UpstreamsOptions Valid() => new()
    {
        Dc09 = [new Dc09UpstreamOptions { Name = "station", Host = "127.0.0.1", Port = 12000, DefaultAccount = "1234" }],
        Webhooks = [new WebhookUpstreamOptions { Name = "hook", Url = "https://example.org/alarms", Secret = "0123456789abcdef" }],
    };

    private static IReadOnlyList<string> Failures(UpstreamsOptions options) =>
        new UpstreamsOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void A_valid_configuration_passes() => Assert.Empty(Failures(Valid()));

    [Fact]
    public void No_upstreams_at_all_is_valid() => Assert.Empty(Failures(new UpstreamsOptions()));

    public static TheoryData<string, Action<UpstreamsOptions>> BadSettings => new()
    {
        { "Upstreams:Dc09:0:Port", o => o.Dc09[0].Port = 0 },
        { "Upstreams:Dc09:0:Host", o => o.Dc09[0].Host = "" },
        { "Upstreams:Dc09:0:KeyHex", o => o.Dc09[0].KeyHex = "00112233" },
        { "Upstreams:Dc09:0:DefaultAccount", o => o.Dc09[0].DefaultAccount = "12" },
        { "Upstreams:Dc09:0:AccountsByDistrict:11680", o => o.Dc09[0].AccountsByDistrict["11680"] = "XYZ" },
        { "Upstreams:Dc09:0:ReceiverNumber", o => o.Dc09[0].ReceiverNumber = "1234567" },
        { "Upstreams:Dc09:0:SupervisionInterval", o => o.Dc09[0].SupervisionInterval = TimeSpan.Zero },
        { "Upstreams:Dc09:0:DefaultAccount", o => o.Dc09[0].DefaultAccount = "12ab" },
        { "Upstreams:Dc09:0:AccountsByDevice:00C0FFEE", o => o.Dc09[0].AccountsByDevice["00C0FFEE"] = "5oo1" },
        { "Upstreams:Dc09:0:DefaultAccount", o => o.Dc09[0].DefaultAccount = "12345678901234567" },
        { "Upstreams:Dc09:0:ReceiverNumber", o => o.Dc09[0].ReceiverNumber = "a" },
        { "Upstreams:Dc09:0:LinePrefix", o => o.Dc09[0].LinePrefix = "" },
        { "Upstreams:Dc09:0:KeyHex", o => o.Dc09[0].KeyHex = "0123456789ABCDEF" },
        { "Upstreams:Dc09:0:KeyHex", o => o.Dc09[0].KeyHex = "my-secret-key-16" },
        { "Upstreams:Dc09:0:Fallbacks:0:Port", o => o.Dc09[0].Fallbacks.Add(new Dc09ReceiverOptions { Host = "10.0.0.2", Port = 0 }) },
        { "Upstreams:Dc09:0:Fallbacks:1:KeyHex", o => o.Dc09[0].Fallbacks.AddRange([new Dc09ReceiverOptions { Host = "10.0.0.2", Port = 1 }, new Dc09ReceiverOptions { Host = "10.0.0.3", Port = 1, KeyHex = "00112233" }]) },
        { "Upstreams:Webhooks:0:Url", o => o.Webhooks[0].Url = "ftp://example.org" },
        { "Upstreams:Webhooks:0:Secret", o => o.Webhooks[0].Secret = "short" },
        { "Upstreams:Webhooks:0:Name", o => o.Webhooks[0].Name = "station" },
        { "Upstreams:Webhooks:0:Name", o => o.Webhooks[0].Name = "Bad Name" },
        { "Upstreams:RetryInterval", o => o.RetryInterval = TimeSpan.Zero },
        { "Upstreams:IotHub:0:SharedAccessKey", o => o.IotHub.Add(new IotHubUpstreamOptions { Name = "hub", HostName = "h.azure-devices.net", DeviceId = "d", SharedAccessKey = "not base64!", TlsCaFile = "/etc/hostname" }) },
        { "Upstreams:IotHub:0:TlsCaFile", o => o.IotHub.Add(new IotHubUpstreamOptions { Name = "hub", HostName = "h.azure-devices.net", DeviceId = "d", SharedAccessKey = Convert.ToBase64String(new byte[32]), TlsCaFile = "/no/such/file" }) },
        { "Upstreams:IotHub:0:DeviceId", o => o.IotHub.Add(new IotHubUpstreamOptions { Name = "hub", HostName = "h.azure-devices.net", DeviceId = "a/b", SharedAccessKey = Convert.ToBase64String(new byte[32]), TlsCaFile = "/etc/hostname" }) },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Each_bad_setting_is_named_in_the_failure(string field, Action<UpstreamsOptions> spoil)
    {
        UpstreamsOptions options = Valid();
        spoil(options);
        string failure = Assert.Single(Failures(options));
        Assert.StartsWith(field, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_written_as_text_is_refused_with_how_to_write_it_as_bytes()
    {
        UpstreamsOptions options = Valid();
        options.Dc09[0].KeyHex = "0123456789ABCDEF";

        Assert.Contains("30313233343536373839414243444546", Assert.Single(Failures(options)), StringComparison.Ordinal);
        options.Dc09[0].KeyHex = "30313233343536373839414243444546";
        Assert.Empty(Failures(options));
    }

    [Fact]
    public void Arbitrary_text_in_any_field_is_reported_never_thrown()
    {
        Prop.ForAll<string[], int>((texts, port) =>
        {
            string? Text(int i) => texts is not null && texts.Length > i ? texts[i] : null;
            string? a = Text(0), b = Text(1), c = Text(2), d = Text(3);
            var options = new UpstreamsOptions
            {
                Dc09 = [new Dc09UpstreamOptions { Name = a!, Host = b!, Port = port, KeyHex = c, DefaultAccount = d, ReceiverNumber = a, LinePrefix = b! }],
                Webhooks = [new WebhookUpstreamOptions { Name = b!, Url = c!, Secret = d! }],
                IotHub = [new IotHubUpstreamOptions { Name = c!, HostName = a!, DeviceId = d!, SharedAccessKey = b!, TlsCaFile = c ?? "" }],
            };
            options.Dc09[0].AccountsByDistrict[a ?? "x"] = b!;
            IReadOnlyList<string> failures = Failures(options);
            return failures.All(f => f.StartsWith("Upstreams:", StringComparison.Ordinal));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public async Task The_bridge_refuses_to_start_with_a_bad_upstream_and_says_which_field()
    {
        var settings = new UpstreamSettings().Dc09("station", 12000).Values;
        settings["Upstreams:Dc09:0:Port"] = "70000";

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(
            () => CloudBridgeHost.StartAsync(new FakeMqttClient(), settings));

        Assert.Contains("Upstreams:Dc09:0:Port must be 1–65535.", error.Message, StringComparison.Ordinal);
    }
}
