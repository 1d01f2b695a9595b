using System.Text;

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

            return Encoding.UTF8.GetString(data, offset, length);
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
