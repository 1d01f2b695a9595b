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

        /// <summary>A record travels to a light in 13 version-2 downlinks of type 9 (<see cref="FrameType.EscortKeyPart"/>).</summary>
        public const int PartCount = 13;

        public const int PartDataLength = Length / PartCount;

        /// <summary>A part's payload: epoch (1) ‖ part index 0–12 (1) ‖ the record's bytes [3·index, 3·index + 3).</summary>
        public const int PartPayloadLength = 2 + PartDataLength;

        /// <summary>The payload of part <paramref name="index"/> of <paramref name="record"/>.</summary>
        public static byte[] Part(byte[] record, int index)
        {
            if (record == null || record.Length != Length || index < 0 || index >= PartCount)
            {
                throw new System.ArgumentException("a part of a whole record, index 0-12");
            }

            var payload = new byte[PartPayloadLength];
            payload[0] = ReadEpoch(record, 0);
            payload[1] = (byte)index;
            System.Array.Copy(record, index * PartDataLength, payload, 2, PartDataLength);
            return payload;
        }

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
