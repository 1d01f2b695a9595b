using System.Text;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Security;

namespace Anshimi.Protocol.Tests.Provisioning;

/// <summary>The provisioning fields are ASCII (protocol/README.md §9), written without an encoder so the code runs on nanoFramework.</summary>
public sealed class ProvisioningTextTests
{
    [Fact]
    public void Ascii_text_becomes_the_bytes_an_ascii_or_utf8_encoder_gives()
    {
        string printable = new([.. Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (char)c)]);

        Assert.Equal(Encoding.UTF8.GetBytes(printable), ProvisioningText.ToBytes(printable));
        Assert.Equal(Encoding.UTF8.GetBytes(ProvisioningCodec.HelloKeyInfo), ProvisioningCodec.HelloKeyInfoBytes());
        Assert.Equal(Encoding.UTF8.GetBytes(ProvisioningCodec.CredentialsKeyInfo), ProvisioningCodec.CredentialsKeyInfoBytes());
    }

    [Theory]
    [InlineData("home-panic\u00e9")]
    [InlineData("비상벨")]
    public void Text_beyond_ascii_is_refused_instead_of_reaching_the_wire(string text)
    {
        Assert.Throws<ArgumentException>(() => ProvisioningText.ToBytes(text));
        Assert.Throws<ArgumentException>(() => new DeviceCredentials(new byte[32], text, "secret").ToBytes());
    }

    [Fact]
    public void Read_gives_back_the_text_and_refuses_what_is_not_printable_ascii()
    {
        byte[] data = Encoding.ASCII.GetBytes("xxhome-panicyy");

        Assert.Equal("home-panic", ProvisioningText.Read(data, 2, 10, 32));
        Assert.Null(ProvisioningText.Read([0x68, 0x20, 0x69], 0, 3, 32));
        Assert.Null(ProvisioningText.Read([0x68, 0xC3, 0xA9], 0, 3, 32));
        Assert.Null(ProvisioningText.Read(data, 10, 5, 32));
    }

    [Fact]
    public void A_hello_and_the_credentials_round_trip_through_their_byte_layouts()
    {
        var codec = new ProvisioningCodec(new HmacSha256());
        byte[] nonce = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];
        byte[] hello = codec.EncodeHello(new HelloMessage(0x0000B001, nonce, new byte[ProvisioningCodec.PublicKeyLength], "home-panic", "1.4.2"), new byte[32]);

        HelloMessage read = ProvisioningCodec.ReadHello(hello)!;
        Assert.Equal("home-panic", read.Profile);
        Assert.Equal("1.4.2", read.FirmwareVersion);
        Assert.Equal(nonce, read.Nonce);

        DeviceCredentials credentials = DeviceCredentials.Parse(new DeviceCredentials([.. Enumerable.Repeat((byte)7, 32)], "0000B001", "pw_-9").ToBytes())!;
        Assert.Equal("0000B001", credentials.Username);
        Assert.Equal("pw_-9", credentials.Password);
    }
}
