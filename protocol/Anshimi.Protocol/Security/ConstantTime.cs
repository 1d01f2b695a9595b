namespace Anshimi.Protocol.Security
{
    /// <summary>Comparisons whose time does not depend on where secret bytes differ.</summary>
    public static class ConstantTime
    {
        public static bool Equal(byte[] a, int aOffset, byte[] b, int bOffset, int count)
        {
            int diff = 0;
            for (int i = 0; i < count; i++)
            {
                diff |= a[aOffset + i] ^ b[bOffset + i];
            }

            return diff == 0;
        }

        public static bool IsZero(byte[] a, int offset, int count)
        {
            int bits = 0;
            for (int i = 0; i < count; i++)
            {
                bits |= a[offset + i];
            }

            return bits == 0;
        }
    }
}
