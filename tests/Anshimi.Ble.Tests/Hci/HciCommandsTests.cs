using System.Runtime.InteropServices;
using Anshimi.Ble.Hci;

namespace Anshimi.Ble.Tests.Hci;

public sealed class HciCommandsTests
{
    [Fact]
    public void Scan_parameters_are_passive_with_interval_and_window_in_0_625_ms_units()
    {
        // 10 ms = 16 units (0x0010): the bytes btmon shows for "LE Set Scan Parameters, passive, 10 ms / 10 ms".
        byte[] packet = HciCommands.SetScanParameters(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10));

        Assert.Equal(Convert.FromHexString("010B2007" + "00" + "1000" + "1000" + "00" + "00"), packet);
    }

    [Fact]
    public void Scan_enable_turns_duplicate_filtering_off()
    {
        Assert.Equal(Convert.FromHexString("010C20020100"), HciCommands.SetScanEnable(true));
        Assert.Equal(Convert.FromHexString("010C20020000"), HciCommands.SetScanEnable(false));
    }

    [Fact]
    public void Advertising_parameters_are_non_connectable_on_all_channels()
    {
        // 100 ms = 160 units (0x00A0), min = max.
        byte[] packet = HciCommands.SetAdvertisingParameters(TimeSpan.FromMilliseconds(100));

        Assert.Equal(Convert.FromHexString("0106200F" + "A000" + "A000" + "03" + "00" + "00" + "000000000000" + "07" + "00"), packet);
    }

    [Fact]
    public void Advertising_data_is_its_length_then_31_bytes_zero_padded()
    {
        byte[] packet = HciCommands.SetAdvertisingData(Convert.FromHexString("05FFFFFF0A0B"));

        Assert.Equal(Convert.FromHexString("01082020" + "06" + "05FFFFFF0A0B" + new string('0', 2 * 25)), packet);
        Assert.Equal(4 + 32, packet.Length);
    }

    [Fact]
    public void Advertising_enable_is_one_byte()
    {
        Assert.Equal(Convert.FromHexString("010A200101"), HciCommands.SetAdvertisingEnable(true));
        Assert.Equal(Convert.FromHexString("010A200100"), HciCommands.SetAdvertisingEnable(false));
    }

    [Fact]
    public void Values_the_controller_would_refuse_are_refused_here()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => HciCommands.SetAdvertisingData(new byte[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => HciCommands.SetAdvertisingParameters(TimeSpan.FromMilliseconds(19)));
        Assert.Throws<ArgumentOutOfRangeException>(() => HciCommands.SetAdvertisingParameters(TimeSpan.FromSeconds(11)));
        Assert.Throws<ArgumentOutOfRangeException>(() => HciCommands.SetScanParameters(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20)));
        Assert.Throws<ArgumentOutOfRangeException>(() => HciCommands.SetScanParameters(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(2)));
    }

    [Fact]
    public void The_socket_filter_passes_event_packets_of_command_answers_and_le_meta_only()
    {
        HciFilter filter = HciFilter.ForTransport();

        Assert.Equal(16, Marshal.SizeOf<HciFilter>());
        Assert.Equal(0x10u, filter.TypeMask);
        Assert.Equal((1u << 0x0E) | (1u << 0x0F), filter.EventMaskLow);
        Assert.Equal(1u << (0x3E - 32), filter.EventMaskHigh);
        Assert.Equal(0, filter.Opcode);
    }

    [Fact]
    public void Opcodes_are_ogf_8_shifted_left_ten_or_the_ocf()
    {
        Assert.Equal(0x200B, HciCommands.LeSetScanParameters);
        Assert.Equal(0x200C, HciCommands.LeSetScanEnable);
        Assert.Equal(0x2006, HciCommands.LeSetAdvertisingParameters);
        Assert.Equal(0x2008, HciCommands.LeSetAdvertisingData);
        Assert.Equal(0x200A, HciCommands.LeSetAdvertisingEnable);
        Assert.Equal(0x200A, HciCommands.OpcodeOf(HciCommands.SetAdvertisingEnable(true)));
    }
}
