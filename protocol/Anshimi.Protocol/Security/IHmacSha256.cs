namespace Anshimi.Protocol.Security
{
    /// <summary>
    /// HMAC-SHA256 over part of a buffer. The device uses <see cref="HmacSha256"/>; hosts inject the
    /// platform's implementation. Implementations need not be thread-safe.
    /// </summary>
    public interface IHmacSha256
    {
        /// <summary>Writes the 32-byte MAC of data[offset..offset+count) under key into output[0..32).</summary>
        void Compute(byte[] key, byte[] data, int offset, int count, byte[] output);
    }
}
