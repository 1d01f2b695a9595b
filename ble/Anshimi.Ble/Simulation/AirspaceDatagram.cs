namespace Anshimi.Ble.Simulation;

public enum AirspaceDatagramKind : byte
{
    /// <summary>Participant → hub: "I am here" (sent on start and every few seconds); flags bit 0 = scanning.</summary>
    Hello = 1,

    /// <summary>Participant → hub: one advertising event; hub → participants: the same, from its transmitter.</summary>
    Advertisement = 2,

    /// <summary>Participant → hub: leaving now.</summary>
    Goodbye = 3,
}

/// <summary>
/// The cross-process airspace's UDP datagram (ble/README.md): <c>"AS" · version 1 · kind · address (6, printed order)
/// · flags or RSSI (1) · data length (1) · advertising data</c>. One message per datagram.
/// </summary>
public sealed record AirspaceDatagram(AirspaceDatagramKind Kind, BleAddress Address, byte FlagsOrRssi, byte[] Data)
{
    public const byte Version = 1;
    public const int HeaderLength = 12;
    public const byte ScanningFlag = 0x01;

    public static AirspaceDatagram Hello(BleAddress address, bool scanning) =>
        new(AirspaceDatagramKind.Hello, address, scanning ? ScanningFlag : (byte)0, []);

    public static AirspaceDatagram Advertisement(BleAddress address, int rssi, byte[] data) =>
        new(AirspaceDatagramKind.Advertisement, address, unchecked((byte)(sbyte)Math.Clamp(rssi, sbyte.MinValue, sbyte.MaxValue)), data);

    public static AirspaceDatagram Goodbye(BleAddress address) => new(AirspaceDatagramKind.Goodbye, address, 0, []);

    public bool IsScanning => Kind == AirspaceDatagramKind.Hello && (FlagsOrRssi & ScanningFlag) != 0;

    public int Rssi => (sbyte)FlagsOrRssi;

    public byte[] Encode()
    {
        var bytes = new byte[HeaderLength + Data.Length];
        bytes[0] = (byte)'A';
        bytes[1] = (byte)'S';
        bytes[2] = Version;
        bytes[3] = (byte)Kind;
        Address.WriteBigEndian(bytes.AsSpan(4));
        bytes[10] = FlagsOrRssi;
        bytes[11] = (byte)Data.Length;
        Data.CopyTo(bytes, HeaderLength);
        return bytes;
    }

    /// <summary>Null for anything that is not exactly one well-formed datagram of this format.</summary>
    public static AirspaceDatagram? TryDecode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderLength || bytes[0] != 'A' || bytes[1] != 'S' || bytes[2] != Version ||
            bytes[3] is < (byte)AirspaceDatagramKind.Hello or > (byte)AirspaceDatagramKind.Goodbye ||
            bytes[11] > Hci.HciCommands.MaxAdvertisingData || bytes.Length != HeaderLength + bytes[11])
        {
            return null;
        }

        var kind = (AirspaceDatagramKind)bytes[3];
        if (kind != AirspaceDatagramKind.Advertisement && bytes[11] != 0)
        {
            return null;
        }

        return new AirspaceDatagram(kind, BleAddress.FromBigEndian(bytes.Slice(4, BleAddress.Length)), bytes[10], bytes[HeaderLength..].ToArray());
    }
}
