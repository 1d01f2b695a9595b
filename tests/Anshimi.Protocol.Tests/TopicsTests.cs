namespace Anshimi.Protocol.Tests;

public sealed class TopicsTests
{
    [Fact]
    public void Device_topics_use_eight_upper_case_hex_digits()
    {
        Assert.Equal("anshimi/v1/d/0000A001/up", Topics.DeviceUplink(0xA001));
        Assert.Equal("anshimi/v1/d/0000A001/down", Topics.DeviceDownlink(0xA001));
        Assert.Equal("anshimi/v1/d/FFFFFFFF/status", Topics.DeviceStatus(uint.MaxValue));
        Assert.Equal("anshimi/v1/gw/gw-01/events", Topics.GatewayEvents("gw-01"));
        Assert.Equal("anshimi/v1/gw/gw-01/commands", Topics.GatewayCommands("gw-01"));
    }

    [Theory]
    [InlineData("anshimi/v1/d/0000A001/up", true, 0xA001u)]
    [InlineData("anshimi/v1/d/0000a001/up", true, 0xA001u)]
    [InlineData("anshimi/v1/d/0000A00/up", false, 0u)]
    [InlineData("anshimi/v1/d/0000A0011/up", false, 0u)]
    [InlineData("anshimi/v1/d/0000G001/up", false, 0u)]
    [InlineData("anshimi/v2/d/0000A001/up", false, 0u)]
    [InlineData("", false, 0u)]
    public void Device_id_is_read_back_from_a_topic(string topic, bool ok, uint expected)
    {
        Assert.Equal(ok, Topics.TryGetDeviceId(topic, out uint id));
        Assert.Equal(expected, id);
    }

    [Theory]
    [InlineData("anshimi/v1/gw/gw-01/events", "gw-01")]
    [InlineData("anshimi/v1/gw//events", null)]
    [InlineData("anshimi/v1/gw/gw-01", null)]
    [InlineData("anshimi/v1/d/0000A001/up", null)]
    public void Gateway_id_is_read_back_from_a_topic(string topic, string? expected)
    {
        Assert.Equal(expected, Topics.GatewayIdOf(topic));
    }
}
