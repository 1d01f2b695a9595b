namespace Anshimi.Protocol
{
    /// <summary>
    /// How a frame travels in a legacy BLE advertisement (protocol/README.md §7): AD structures, one of them
    /// Manufacturer Specific Data (<c>len · 0xFF · company id LE · frame</c>).
    /// </summary>
    public static class BleAdvertisement
    {
        /// <summary>
        /// Bluetooth SIG company identifier written in front of the frame. 0xFFFF is the value the SIG reserves for
        /// tests and unassigned use; a fielded product replaces it with the maker's assigned identifier.
        /// </summary>
        public const ushort CompanyId = 0xFFFF;

        public const int MaxLegacyDataLength = 31;
        public const byte AdTypeFlags = 0x01;
        public const byte AdTypeManufacturerData = 0xFF;

        /// <summary>LE General Discoverable, BR/EDR not supported: the Flags a device's own advertisement carries.</summary>
        public const byte FlagsGeneralDiscoverableLeOnly = 0x06;

        private const int FlagsLength = 3;
        private const int ManufacturerHeaderLength = 4;

        /// <summary>
        /// Writes the advertising data for <paramref name="frameLength"/> frame bytes at buffer[offset..] and returns its
        /// length, or -1 when it would not fit 31 bytes. Devices include Flags; the gateway's non-connectable downlink
        /// advertisements leave them out to make room for 27-byte acks.
        /// </summary>
        public static int Write(byte[] frame, int frameOffset, int frameLength, bool withFlags, byte[] buffer, int offset)
        {
            int total = (withFlags ? FlagsLength : 0) + ManufacturerHeaderLength + frameLength;
            if (frameLength < 1 || total > MaxLegacyDataLength || buffer.Length - offset < total)
            {
                return -1;
            }

            int at = offset;
            if (withFlags)
            {
                buffer[at++] = 2;
                buffer[at++] = AdTypeFlags;
                buffer[at++] = FlagsGeneralDiscoverableLeOnly;
            }

            buffer[at++] = (byte)(3 + frameLength);
            buffer[at++] = AdTypeManufacturerData;
            buffer[at++] = (byte)(CompanyId & 0xFF);
            buffer[at++] = (byte)(CompanyId >> 8);
            System.Array.Copy(frame, frameOffset, buffer, at, frameLength);
            return total;
        }

        /// <summary>
        /// Finds the Anshimi frame in advertising data, with or without Flags. Walks the AD structures without trusting
        /// their lengths; only the first structure with our company id is read (an advertisement carries one frame);
        /// returns false for truncated structures, an empty frame, other company ids or no manufacturer data.
        /// </summary>
        public static bool TryFindFrame(byte[] data, int offset, int length, out int frameOffset, out int frameLength)
        {
            frameOffset = 0;
            frameLength = 0;
            if (data == null || offset < 0 || length < 0 || offset > data.Length - length)
            {
                return false;
            }

            int end = offset + length;
            int at = offset;
            while (at < end)
            {
                int structureLength = data[at];
                if (structureLength == 0)
                {
                    // A zero length ends the significant part (Core Specification Vol 3 Part C §11): the rest is padding.
                    return false;
                }

                if (at + 1 + structureLength > end)
                {
                    return false;
                }

                if (data[at + 1] == AdTypeManufacturerData && structureLength >= 3
                    && (data[at + 2] | (data[at + 3] << 8)) == CompanyId)
                {
                    frameOffset = at + 4;
                    frameLength = structureLength - 3;
                    return frameLength > 0;
                }

                at += 1 + structureLength;
            }

            return false;
        }
    }
}
