namespace Anshimi.Firmware.Bells
{
    /// <summary>
    /// Takes the module's byte stream one byte at a time and yields each well-formed ASR result. A frame
    /// that breaks any rule (length over 8, wrong checksum, wrong tail) is dropped and counted, and the
    /// search for the next header restarts at the byte after the broken frame's header, so a real frame
    /// hidden inside noise is still found. Constant memory; never throws.
    /// </summary>
    public sealed class Df2301qParser
    {
        private readonly byte[] _buffer = new byte[Df2301qFrame.MaxFrameLength];
        private int _count;

        /// <summary>Well-formed frames of any kind.</summary>
        public int FramesAccepted { get; private set; }

        /// <summary>Frames dropped for a bad length, checksum or tail.</summary>
        public int FramesRejected { get; private set; }

        /// <summary>Bytes skipped while looking for a header.</summary>
        public int BytesSkipped { get; private set; }

        /// <summary>The command id of the last ASR result <see cref="Push"/> reported.</summary>
        public byte CommandId { get; private set; }

        /// <summary>Adds one byte; true when it completed an ASR result (then see <see cref="CommandId"/>).</summary>
        public bool Push(byte value)
        {
            _buffer[_count++] = value;
            while (_count > 0)
            {
                int verdict = Examine();
                if (verdict == NeedMore)
                {
                    return false;
                }

                if (verdict == Broken)
                {
                    // Resync: drop the first byte and look for a header in what is left.
                    if (_count >= 2 && _buffer[0] == Df2301qFrame.Head0 && _buffer[1] == Df2301qFrame.Head1)
                    {
                        FramesRejected++;
                    }
                    else
                    {
                        BytesSkipped++;
                    }

                    Shift(1);
                    continue;
                }

                // A complete frame of `verdict` bytes.
                FramesAccepted++;
                bool asr = _buffer[4] == Df2301qFrame.TypeCommandUp && _buffer[5] == Df2301qFrame.CommandAsrResult && _buffer[2] >= 1;
                if (asr)
                {
                    CommandId = _buffer[Df2301qFrame.PrefixLength];
                }

                Shift(verdict);
                if (asr)
                {
                    return true;
                }
            }

            return false;
        }

        private const int NeedMore = 0;
        private const int Broken = -1;

        /// <summary>NeedMore, Broken, or the length of the complete valid frame at the start of the buffer.</summary>
        private int Examine()
        {
            if (_buffer[0] != Df2301qFrame.Head0)
            {
                return Broken;
            }

            if (_count < 2)
            {
                return NeedMore;
            }

            if (_buffer[1] != Df2301qFrame.Head1)
            {
                return Broken;
            }

            if (_count < 4)
            {
                return NeedMore;
            }

            int dataLength = _buffer[2] | (_buffer[3] << 8);
            if (dataLength > Df2301qFrame.MaxDataLength)
            {
                return Broken;
            }

            int total = Df2301qFrame.PrefixLength + dataLength + Df2301qFrame.SuffixLength;
            if (_count < total)
            {
                return NeedMore;
            }

            int sum = 0;
            for (int i = 4; i < Df2301qFrame.PrefixLength + dataLength; i++)
            {
                sum += _buffer[i];
            }

            int at = Df2301qFrame.PrefixLength + dataLength;
            int stated = _buffer[at] | (_buffer[at + 1] << 8);
            if (stated != (sum & 0xFFFF) || _buffer[at + 2] != Df2301qFrame.Tail)
            {
                return Broken;
            }

            return total;
        }

        private void Shift(int by)
        {
            for (int i = by; i < _count; i++)
            {
                _buffer[i - by] = _buffer[i];
            }

            _count -= by;
        }
    }
}
