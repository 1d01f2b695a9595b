using System.Text.Json;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Provisioning;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;

namespace Anshimi.Firmware.Tests.Provisioning;

/// <summary>
/// The device's side against the provisioning vectors of frames.json (written by generate.py's independent
/// encoder): from the vector's factory key, code and nonce, the device's hello is the vector byte for byte, and
/// the device opens each credentials vector — or drops it for the vector's reason — with its portable X25519.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class ProvisioningVectorDeviceTests
{
    private static readonly JsonElement Vectors = JsonDocument.Parse(File.ReadAllText(RepoPaths.Combine("protocol", "vectors", "frames.json"))).RootElement.GetProperty("provisioning");
    private static readonly JsonElement Device = Vectors.GetProperty("device");

    public static TheoryData<string> Credentials => [.. Vectors.GetProperty("credentials").EnumerateArray().Select(v => v.GetProperty("name").GetString()!)];

    [Fact]
    public void The_device_sends_the_vector_hello_byte_for_byte()
    {
        (DeviceProvisioning device, FakeMqttLink link, _) = NewDevice();
        device.Tick();
        Assert.Equal(Hex(Vector("hellos", "hello-v2"), "hex"), link.Published[0].Payload);
    }

    [Theory]
    [MemberData(nameof(Credentials))]
    public void The_device_opens_or_drops_each_credentials_vector_as_it_says(string name)
    {
        JsonElement vector = Vector("credentials", name);
        (DeviceProvisioning device, FakeMqttLink link, MemoryDeviceStorage storage) = NewDevice();
        device.Tick();
        link.Deliver(Topics.ProvisioningCredentials(0x0000B001), Hex(vector, "hex"));
        device.Tick();

        switch (vector.GetProperty("expect").GetString())
        {
            case "ok":
                Assert.True(device.IsProvisioned);
                Assert.Equal(Hex(vector, "plaintext"), storage.Read(DeviceProvisioning.CredentialsRecordName));
                Assert.Equal(Hex(vector, "frameKey"), device.Credentials!.Key);
                Assert.Equal(vector.GetProperty("password").GetString(), device.Credentials.Password);
                break;
            case "unauthentic":
                Assert.Equal(1, device.DroppedUnauthentic);
                break;
            case "foreign":
                Assert.Equal(1, device.DroppedForeign);
                break;
            default:
                Assert.Fail("unknown expectation in " + name);
                break;
        }

        Assert.Equal(vector.GetProperty("expect").GetString() == "ok", device.IsProvisioned);
    }

    private static (DeviceProvisioning Device, FakeMqttLink Link, MemoryDeviceStorage Storage) NewDevice()
    {
        var clock = new VirtualClock();
        var link = new FakeMqttLink(clock);
        var storage = new MemoryDeviceStorage();
        var config = new ProvisioningConfig(0x0000B001, System.Text.Encoding.ASCII.GetBytes(Device.GetProperty("claimCode").GetString()!), Hex(Device, "privateKey"), "home-panic", "1.2.3");
        var device = new DeviceProvisioning(config, clock, storage, link, new AesGcmProvisioningCipher(), new PlatformHmacSha256(), new FixedRandom(Hex(Device, "nonce")));
        return (device, link, storage);
    }

    private static JsonElement Vector(string list, string name) =>
        Vectors.GetProperty(list).EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);

    private static byte[] Hex(JsonElement element, string property) => Convert.FromHexString(element.GetProperty(property).GetString()!);

    /// <summary>The vector's nonce as the device's "random" power-up nonce.</summary>
    private sealed class FixedRandom(byte[] bytes) : ISecureRandom
    {
        public void Fill(byte[] buffer) => Array.Copy(bytes, buffer, buffer.Length);
    }
}
