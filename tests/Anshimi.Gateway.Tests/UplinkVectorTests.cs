using System.Text.Json;
using Anshimi.Gateway.Pipeline;
using Anshimi.Protocol;

namespace Anshimi.Gateway.Tests;

/// <summary>
/// The shared vectors that name a gateway as their receiver (protocol/vectors/frames.json), heard on their topic by the
/// real uplink pipeline of a gateway that knows only device 0000A001 under key device-a: the reject reason and the
/// order of the checks (topic, direction, device, tag) are the specification's, not this test's.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class UplinkVectorTests : IAsyncLifetime
{
    private static readonly Lazy<JsonElement[]> Vectors = new(() =>
        [.. JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "frames.json")))
            .RootElement.GetProperty("vectors").EnumerateArray()]);

    private GatewayHarness _gateway = null!;

    public static IEnumerable<object[]> GatewayVectors =>
        Vectors.Value.Where(v => v.TryGetProperty("receiver", out JsonElement r) && r.GetString() == "gateway")
            .Select(v => new object[] { v.GetProperty("name").GetString()! });

    public async Task InitializeAsync() =>
        _gateway = await GatewayHarness.StartAsync(GatewayHarness.CreateDirectory(), new FakeMqttClient(), GatewayHarness.NewClock(), [new TestDevice(0x0000A001, 0x00)]);

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public void Every_reject_reason_of_a_gateway_receiver_has_a_vector()
    {
        string[] reasons = [.. GatewayVectors.Select(n => Vector((string)n[0]).GetProperty("expect").GetString()!).Distinct().Order()];
        Assert.Equal(["topic_mismatch", "unknown_device", "wrong_direction"], reasons);
    }

    [Theory]
    [MemberData(nameof(GatewayVectors))]
    public async Task A_gateway_refuses_each_of_its_vectors_with_the_expected_reason(string name)
    {
        JsonElement v = Vector(name);
        byte[] frame = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        string topic = v.TryGetProperty("topic", out JsonElement t) ? t.GetString()! : Topics.DeviceUplink(FrameCodec.ReadDeviceId(frame, 0));

        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(topic, frame, CancellationToken.None);

        Assert.Equal(UplinkResult.Reject(v.GetProperty("expect").GetString()!), result);
        Assert.Empty(_gateway.Mqtt.Published);
    }

    private static JsonElement Vector(string name) => Vectors.Value.Single(v => v.GetProperty("name").GetString() == name);
}
