namespace Anshimi.Protocol
{
    /// <summary>
    /// An area's escort key as the cloud hands it to a light (protocol/README.md §10.1), 39 bytes: area (2) ‖ key epoch (1) ‖
    /// changeover end, the Unix minute from which the previous epoch's escorts are refused (4) ‖ key (32).
    /// </summary>
    public static class EscortKeyRecord
    {
        public const int Length = 2 + 1 + 4 + EscortKeySet.KeyLength;
        public const int KeyOffset = 7;

        public static void Write(ushort area, byte epoch, uint changeoverEndMinute, byte[] key, byte[] buffer, int offset)
        {
            if (key == null || key.Length != EscortKeySet.KeyLength || area == 0)
            {
                throw new System.ArgumentException("an escort key record needs an area and a 32-byte key");
            }

            BigEndian.WriteUInt16(buffer, offset, area);
            buffer[offset + 2] = epoch;
            BigEndian.WriteUInt32(buffer, offset + 3, changeoverEndMinute);
            System.Array.Copy(key, 0, buffer, offset + KeyOffset, EscortKeySet.KeyLength);
        }

        public static byte[] Encode(ushort area, byte epoch, uint changeoverEndMinute, byte[] key)
        {
            var record = new byte[Length];
            Write(area, epoch, changeoverEndMinute, key, record, 0);
            return record;
        }

        public static ushort ReadArea(byte[] record, int offset)
        {
            return BigEndian.ReadUInt16(record, offset);
        }

        public static byte ReadEpoch(byte[] record, int offset)
        {
            return record[offset + 2];
        }

        public static uint ReadChangeoverEnd(byte[] record, int offset)
        {
            return BigEndian.ReadUInt32(record, offset + 3);
        }
    }
}
