using System.Diagnostics.Metrics;
using System.Text.Json;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Provisioning;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>
/// The gateway's side against the provisioning vectors of frames.json (written by generate.py's independent
/// encoder): each hello reads to its fields and its outcome (listed, version_1, the code's tag, the label's key),
/// and sealing the vector's credentials with its ephemeral key and nonce gives the vector byte for byte.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class ProvisioningVectorGatewayTests
{
    private static readonly JsonElement Vectors = JsonDocument.Parse(File.ReadAllText(RepoPaths.Combine("protocol", "vectors", "frames.json"))).RootElement.GetProperty("provisioning");
    private static readonly JsonElement Device = Vectors.GetProperty("device");

    public static TheoryData<string> Hellos => [.. Vectors.GetProperty("hellos").EnumerateArray().Select(v => v.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Hellos))]
    public void Each_hello_vector_has_its_outcome_at_the_gateway(string name)
    {
        JsonElement vector = Vectors.GetProperty("hellos").EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);
        byte[] raw = Hex(vector, "hex");
        Assert.True(ClaimCode.TryReadLabel(Device.GetProperty("label").GetString(), out _, out string code, out byte[] labelKey, out _));
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new ProvisioningMetrics(services.GetRequiredService<IMeterFactory>());
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var board = new HelloBoard(metrics, new RejectLog(NullLogger<RejectLog>.Instance, time), Options.Create(new ProvisioningOptions()), time);
        board.Post(Topics.ProvisioningHello(0x0000B001), raw);
        HelloSighting? listed = board.Find(0x0000B001);

        string expect = vector.GetProperty("expect").GetString()!;
        if (expect == "version_1")
        {
            Assert.Null(listed);
            Assert.True(ProvisioningCodec.IsVersion1Hello(raw));
            return;
        }

        Assert.NotNull(listed);
        bool tagged = CredentialSealer.HelloMatches(raw, listed.Hello, ClaimCode.Secret(code));
        bool labelKeyed = listed.Hello.PublicKey.AsSpan().SequenceEqual(labelKey);
        string outcome = !tagged ? "wrong_claim_code" : !labelKeyed ? "key_mismatch" : "ok";
        Assert.Equal(expect, outcome);
        if (expect == "ok")
        {
            Assert.Equal(Hex(Device, "nonce"), listed.Hello.Nonce);
            Assert.Equal(Hex(Device, "publicKey"), listed.Hello.PublicKey);
            Assert.Equal(vector.GetProperty("fields").GetProperty("profile").GetString(), listed.Hello.Profile);
            Assert.Equal(vector.GetProperty("fields").GetProperty("firmwareVersion").GetString(), listed.Hello.FirmwareVersion);
        }
    }

    [Fact]
    public void Sealing_the_vector_credentials_with_its_ephemeral_key_and_nonce_gives_the_vector()
    {
        JsonElement vector = Vectors.GetProperty("credentials").EnumerateArray().Single(v => v.GetProperty("expect").GetString() == "ok");
        HelloMessage hello = ProvisioningCodec.ReadHello(Hex(Vectors.GetProperty("hellos")[0], "hex"))!;
        var credentials = new DeviceCredentials(Hex(vector, "frameKey"), vector.GetProperty("username").GetString()!, vector.GetProperty("password").GetString()!);

        byte[] sealedCredentials = CredentialSealer.Seal(hello, Hex(Device, "publicKey"), credentials, Hex(vector, "ephemeralPrivateKey"), Hex(vector, "cipherNonce"));

        Assert.Equal(vector.GetProperty("hex").GetString(), Convert.ToHexStringLower(sealedCredentials));
    }

    private static byte[] Hex(JsonElement element, string property) => Convert.FromHexString(element.GetProperty(property).GetString()!);
}
