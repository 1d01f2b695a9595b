namespace Anshimi.Firmware.Bells
{
    /// <summary>
    /// The serial frame of the DFRobot DF2301Q offline voice-recognition module (Gravity SEN0539), UART mode,
    /// 9600 8N1, as the maker's driver reads and writes it:
    /// <c>F4 F5 · data length (2, LE, at most 8) · type · command · sequence · data · checksum (2, LE) · FB</c>.
    /// The checksum is the 16-bit sum of type, command, sequence and data bytes. The module reports a
    /// recognised command word as type 0xA0 (upstream), command 0x91 (ASR result), data[0] = command id.
    /// </summary>
    public static class Df2301qFrame
    {
        public const byte Head0 = 0xF4;
        public const byte Head1 = 0xF5;
        public const byte Tail = 0xFB;
        public const int MaxDataLength = 8;

        /// <summary>Header (2), length (2), type, command, sequence.</summary>
        public const int PrefixLength = 7;

        /// <summary>Checksum (2) and tail.</summary>
        public const int SuffixLength = 3;

        public const int MaxFrameLength = PrefixLength + MaxDataLength + SuffixLength;

        public const byte TypeCommandUp = 0xA0;
        public const byte TypeCommandDown = 0xA1;
        public const byte TypeAck = 0xA2;
        public const byte TypeNotify = 0xA3;

        public const byte CommandAsrResult = 0x91;
        public const byte CommandPlayVoice = 0x92;
        public const byte CommandSetConfig = 0x96;
        public const byte CommandNotifyStatus = 0x9A;

        /// <summary>Set-config data[0]: mute (value 1) or unmute (0) the module's own speaker.</summary>
        public const byte ConfigMute = 0x83;

        /// <summary>Writes a frame at buffer[offset..] and returns its length.</summary>
        public static int Write(byte type, byte command, byte sequence, byte[] data, int dataOffset, int dataLength, byte[] buffer, int offset)
        {
            if (dataLength < 0 || dataLength > MaxDataLength || buffer.Length - offset < PrefixLength + dataLength + SuffixLength)
            {
                throw new System.ArgumentException("DF2301Q frame data is 0-8 bytes");
            }

            buffer[offset] = Head0;
            buffer[offset + 1] = Head1;
            buffer[offset + 2] = (byte)dataLength;
            buffer[offset + 3] = 0;
            buffer[offset + 4] = type;
            buffer[offset + 5] = command;
            buffer[offset + 6] = sequence;
            int sum = type + command + sequence;
            for (int i = 0; i < dataLength; i++)
            {
                byte b = data[dataOffset + i];
                buffer[offset + PrefixLength + i] = b;
                sum += b;
            }

            int at = offset + PrefixLength + dataLength;
            buffer[at] = (byte)(sum & 0xFF);
            buffer[at + 1] = (byte)((sum >> 8) & 0xFF);
            buffer[at + 2] = Tail;
            return PrefixLength + dataLength + SuffixLength;
        }

        /// <summary>The module's report of a recognised command word, as it sends it.</summary>
        public static byte[] AsrResult(byte commandId, byte sequence)
        {
            var data = new byte[] { commandId };
            var frame = new byte[PrefixLength + 1 + SuffixLength];
            Write(TypeCommandUp, CommandAsrResult, sequence, data, 0, 1, frame, 0);
            return frame;
        }

        /// <summary>The host's request to mute (or unmute) the module's spoken replies: set-config, value as 4 bytes LE.</summary>
        public static byte[] SetMute(bool mute, byte sequence)
        {
            var data = new byte[] { ConfigMute, (byte)(mute ? 1 : 0), 0, 0, 0 };
            var frame = new byte[PrefixLength + data.Length + SuffixLength];
            Write(TypeCommandDown, CommandSetConfig, sequence, data, 0, data.Length, frame, 0);
            return frame;
        }
    }
}
