namespace Anshimi.Protocol.Provisioning
{
    /// <summary>Short printable-ASCII fields of provisioning messages.</summary>
    public static class ProvisioningText
    {
        /// <summary>The text at data[offset..offset+length), or null unless it is 1…max printable ASCII characters without spaces.</summary>
        public static string? Read(byte[] data, int offset, int length, int max)
        {
            if (length < 1 || length > max || offset + length > data.Length)
            {
                return null;
            }

            for (int i = offset; i < offset + length; i++)
            {
                if (data[i] < 0x21 || data[i] > 0x7E)
                {
                    return null;
                }
            }

            var chars = new char[length];
            for (int i = 0; i < length; i++)
            {
                chars[i] = (char)data[offset + i];
            }

            return new string(chars);
        }

        /// <summary>
        /// The ASCII bytes of <paramref name="text"/>. These fields are ASCII by specification (and nanoFramework's
        /// core library has no encoder), so a character beyond ASCII is refused rather than put on the wire.
        /// </summary>
        public static byte[] ToBytes(string text)
        {
            var bytes = new byte[text.Length];
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] > (char)0x7F)
                {
                    throw new System.ArgumentException("provisioning text must be ASCII", nameof(text));
                }

                bytes[i] = (byte)text[i];
            }

            return bytes;
        }

        /// <summary>True when <paramref name="text"/> would pass <see cref="Read"/>.</summary>
        public static bool IsValid(string text, int max)
        {
            if (text == null || text.Length < 1 || text.Length > max)
            {
                return false;
            }

            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] < (char)0x21 || text[i] > (char)0x7E)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
