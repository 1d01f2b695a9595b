using Anshimi.Ble.Hci;
using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.Ble.Tests.Hci;

public sealed class HciEventsTests
{
    [Fact]
    public void Command_complete_carries_opcode_and_status()
    {
        // The controller's answer to LE Set Scan Parameters: ncmd 1, opcode 0x200B, status 0.
        HciEvent? parsed = HciEvents.Parse(Convert.FromHexString("040E0401" + "0B20" + "00"));

        Assert.Equal(new HciCommandResult(0x200B, 0x00), parsed);
    }

    [Fact]
    public void Command_status_carries_status_then_opcode()
    {
        HciEvent? parsed = HciEvents.Parse(Convert.FromHexString("040F04" + "0C" + "01" + "0A20"));

        Assert.Equal(new HciCommandResult(0x200A, 0x0C), parsed);
    }

    [Fact]
    public void An_advertising_report_gives_address_data_and_rssi()
    {
        // LE Meta, subevent 2, one report: ADV_NONCONN_IND, public address 11:22:33:44:55:66 (sent LSB first),
        // 6 data bytes, RSSI -70 (0xBA).
        byte[] packet = Convert.FromHexString("043E" + "12" + "02" + "01" + "03" + "00" + "665544332211" + "06" + "05FFFFFF0A0B" + "BA");

        var reports = Assert.IsType<HciAdvertisingReports>(HciEvents.Parse(packet));

        HciAdvertisingReport report = Assert.Single(reports.Reports);
        Assert.Equal(0x03, report.EventType);
        Assert.Equal(0x00, report.AddressType);
        Assert.Equal("11:22:33:44:55:66", report.Address.ToString());
        Assert.Equal(Convert.FromHexString("05FFFFFF0A0B"), report.Data);
        Assert.Equal(-70, report.Rssi);
    }

    [Fact]
    public void Several_reports_in_one_event_are_read_one_after_the_other()
    {
        string first = "00" + "01" + "010000000000" + "03" + "020106" + "C4";
        string second = "03" + "00" + "020000000000" + "00" + "7F";
        byte[] packet = Convert.FromHexString("043E" + "19" + "02" + "02" + first + second);

        var reports = Assert.IsType<HciAdvertisingReports>(HciEvents.Parse(packet));

        Assert.Equal(2, reports.Reports.Count);
        Assert.Equal(new BleAddress(1), reports.Reports[0].Address);
        Assert.Equal(-60, reports.Reports[0].Rssi);
        Assert.Equal(new BleAddress(2), reports.Reports[1].Address);
        Assert.Empty(reports.Reports[1].Data);
        Assert.Equal(HciEvents.RssiUnavailable, reports.Reports[1].Rssi);
    }

    [Theory]
    [InlineData("")]
    [InlineData("04")]
    [InlineData("040E")]
    [InlineData("040E0401")] // parameter length says 4, none follow
    [InlineData("020E0401" + "0B2000")] // ACL packet indicator, not an event
    [InlineData("043E0302" + "01" + "03")] // report cut after its event type
    [InlineData("043E0C02" + "01" + "0300665544332211" + "06" + "05")] // data length runs past the event
    [InlineData("043E0402" + "00" + "0000")] // zero reports
    [InlineData("043E1302" + "01" + "0300665544332211" + "06" + "05FFFFFF0A0B" + "BA" + "00")] // a byte left over
    [InlineData("043E2C02" + "01" + "0300665544332211" + "20" + "0000000000000000000000000000000000000000000000000000000000000000" + "BA")] // 32 data bytes
    [InlineData("043E0201" + "00")] // another LE subevent
    public void Truncated_or_unknown_events_are_ignored(string hex)
    {
        Assert.Null(HciEvents.Parse(Convert.FromHexString(hex)));
    }

    [Fact]
    public void Random_bytes_never_throw_and_any_parsed_report_stays_within_the_packet()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            byte[] packet = [0x04, 0x3E, (byte)Math.Min(bytes.Length + 1, 255), 0x02, .. bytes.Take(254)];
            HciEvent? parsed = HciEvents.Parse(packet);
            return parsed is null || (parsed is HciAdvertisingReports reports && reports.Reports.All(r => r.Data.Length <= 31));
        }).QuickCheckThrowOnFailure();
    }
}
