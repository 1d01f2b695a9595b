using System.Buffers.Binary;

namespace Anshimi.Ble.Hci;

/// <summary>
/// HCI command packets for the LE Controller commands the transport uses (Bluetooth Core Specification,
/// Vol 4 Part E §5.4.1 and §7.8): packet indicator <c>0x01</c>, opcode (OGF 0x08 &lt;&lt; 10 | OCF) little-endian,
/// parameter length, parameters. Multi-byte parameters are little-endian.
/// </summary>
public static class HciCommands
{
    public const byte CommandPacket = 0x01;
    public const int LeControllerGroup = 0x08;

    public const ushort LeSetAdvertisingParameters = (LeControllerGroup << 10) | 0x0006;
    public const ushort LeSetAdvertisingData = (LeControllerGroup << 10) | 0x0008;
    public const ushort LeSetAdvertisingEnable = (LeControllerGroup << 10) | 0x000A;
    public const ushort LeSetScanParameters = (LeControllerGroup << 10) | 0x000B;
    public const ushort LeSetScanEnable = (LeControllerGroup << 10) | 0x000C;

    /// <summary>ADV_NONCONN_IND: nobody may connect or ask for a scan response.</summary>
    public const byte AdvertisingNonConnectable = 0x03;

    public const byte ScanPassive = 0x00;
    public const byte PublicAddress = 0x00;
    public const byte AllChannels = 0x07;
    public const int MaxAdvertisingData = 31;

    /// <summary>Timing unit of intervals and windows: 0.625 ms.</summary>
    public static readonly TimeSpan TimeUnit = TimeSpan.FromTicks(6250);

    /// <summary>Range of the legacy advertising interval (0x0020–0x4000 units: 20 ms – 10.24 s).</summary>
    public static readonly TimeSpan MinAdvertisingInterval = TimeUnit * 0x0020;

    public static readonly TimeSpan MaxAdvertisingInterval = TimeUnit * 0x4000;

    /// <summary>Range of the scan interval and window (0x0004–0x4000 units: 2.5 ms – 10.24 s).</summary>
    public static readonly TimeSpan MinScanTime = TimeUnit * 0x0004;

    public static readonly TimeSpan MaxScanTime = TimeUnit * 0x4000;

    /// <summary>LE Set Advertising Parameters: min = max interval, non-connectable, public address, all channels, no filter.</summary>
    public static byte[] SetAdvertisingParameters(TimeSpan interval)
    {
        ushort units = ToUnits(interval, MinAdvertisingInterval, MaxAdvertisingInterval, nameof(interval));
        var parameters = new byte[15];
        BinaryPrimitives.WriteUInt16LittleEndian(parameters.AsSpan(0), units);
        BinaryPrimitives.WriteUInt16LittleEndian(parameters.AsSpan(2), units);
        parameters[4] = AdvertisingNonConnectable;
        parameters[5] = PublicAddress;

        // Peer address type and peer address (bytes 6–12) stay zero: only directed advertising uses them.
        parameters[13] = AllChannels;
        parameters[14] = 0x00;
        return Packet(LeSetAdvertisingParameters, parameters);
    }

    /// <summary>LE Set Advertising Data: the length, then the data zero-padded to 31 bytes.</summary>
    public static byte[] SetAdvertisingData(ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxAdvertisingData)
        {
            throw new ArgumentOutOfRangeException(nameof(data), data.Length, "legacy advertising data is at most 31 bytes");
        }

        var parameters = new byte[1 + MaxAdvertisingData];
        parameters[0] = (byte)data.Length;
        data.CopyTo(parameters.AsSpan(1));
        return Packet(LeSetAdvertisingData, parameters);
    }

    public static byte[] SetAdvertisingEnable(bool enable) => Packet(LeSetAdvertisingEnable, [enable ? (byte)1 : (byte)0]);

    /// <summary>LE Set Scan Parameters: passive, public address, accept all advertisements.</summary>
    public static byte[] SetScanParameters(TimeSpan interval, TimeSpan window)
    {
        ushort intervalUnits = ToUnits(interval, MinScanTime, MaxScanTime, nameof(interval));
        ushort windowUnits = ToUnits(window, MinScanTime, MaxScanTime, nameof(window));
        if (windowUnits > intervalUnits)
        {
            throw new ArgumentOutOfRangeException(nameof(window), window, "the scan window cannot be longer than the scan interval");
        }

        var parameters = new byte[7];
        parameters[0] = ScanPassive;
        BinaryPrimitives.WriteUInt16LittleEndian(parameters.AsSpan(1), intervalUnits);
        BinaryPrimitives.WriteUInt16LittleEndian(parameters.AsSpan(3), windowUnits);
        parameters[5] = PublicAddress;
        parameters[6] = 0x00;
        return Packet(LeSetScanParameters, parameters);
    }

    /// <summary>LE Set Scan Enable with duplicate filtering off: a repeated alarm burst or beacon must be heard every time.</summary>
    public static byte[] SetScanEnable(bool enable) => Packet(LeSetScanEnable, [enable ? (byte)1 : (byte)0, 0x00]);

    /// <summary>The opcode of a command packet built by this class.</summary>
    public static ushort OpcodeOf(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt16LittleEndian(packet[1..]);

    internal static ushort ToUnits(TimeSpan value, TimeSpan min, TimeSpan max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"must be between {min.TotalMilliseconds} ms and {max.TotalMilliseconds} ms");
        }

        return (ushort)Math.Round(value.Ticks / (double)TimeUnit.Ticks);
    }

    private static byte[] Packet(ushort opcode, byte[] parameters)
    {
        var packet = new byte[4 + parameters.Length];
        packet[0] = CommandPacket;
        BinaryPrimitives.WriteUInt16LittleEndian(packet.AsSpan(1), opcode);
        packet[3] = (byte)parameters.Length;
        parameters.CopyTo(packet, 4);
        return packet;
    }
}
