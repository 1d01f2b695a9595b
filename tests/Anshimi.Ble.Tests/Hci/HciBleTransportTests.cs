using Anshimi.Ble.Hci;

namespace Anshimi.Ble.Tests.Hci;

public sealed class HciBleTransportTests
{
    [Fact]
    public void Opening_an_adapter_that_does_not_exist_fails_with_a_message_naming_it()
    {
        // hci97 exists on no machine this runs on (this one has no controller at all).
        var error = Assert.Throws<BleTransportException>(() => new HciBleTransport("hci97", TimeProvider.System));

        Assert.Contains("'hci97' not found", error.Message, StringComparison.Ordinal);
        Assert.Contains(HciBleTransport.SysfsAdapters, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("hci")]
    [InlineData("hci-1")]
    [InlineData("wlan0")]
    [InlineData("hci99999")]
    public void Adapter_names_must_look_like_hci_and_a_number(string name)
    {
        var error = Assert.Throws<BleTransportException>(() => new HciBleTransport(name, TimeProvider.System));

        Assert.Contains("hci0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Adapter_numbers_are_parsed()
    {
        Assert.Equal(0, HciBleTransport.ParseAdapter("hci0"));
        Assert.Equal(12, HciBleTransport.ParseAdapter("hci12"));
    }
}
