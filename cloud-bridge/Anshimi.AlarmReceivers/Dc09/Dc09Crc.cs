namespace Anshimi.AlarmReceivers.Dc09;

/// <summary>
/// The DC-09 message CRC: CRC-16/ARC (polynomial 0x8005 reflected as 0xA001, initial value 0,
/// no final xor), over the bytes from the first quote of the id token to the end of the message.
/// </summary>
public static class Dc09Crc
{
    public static ushort Compute(ReadOnlySpan<byte> data)
    {
        ushort crc = 0;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (ushort)((crc >> 1) ^ 0xA001) : (ushort)(crc >> 1);
            }
        }

        return crc;
    }
}
