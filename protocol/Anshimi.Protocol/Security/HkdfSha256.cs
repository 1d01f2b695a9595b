namespace Anshimi.Protocol.Security
{
    /// <summary>
    /// RFC 5869 HKDF with HMAC-SHA256, for one 32-byte output block (all the frame keys of protocol/README.md §10 need).
    /// Allocation-free after construction; not thread-safe.
    /// </summary>
    public sealed class HkdfSha256
    {
        private const int MaxInfoLength = 63;
        private static readonly byte[] NoSalt = new byte[0];

        private readonly IHmacSha256 _mac;
        private readonly byte[] _prk = new byte[Sha256.HashLength];
        private readonly byte[] _infoBlock = new byte[MaxInfoLength + 1];
        private readonly byte[] _salt1 = new byte[1];

        public HkdfSha256(IHmacSha256 mac)
        {
            _mac = mac;
        }

        /// <summary>HKDF(IKM, salt, info) with L = 32 into output[0..32). An empty salt stands for 32 zero bytes (RFC 5869 §2.2).</summary>
        public void Derive(byte[] ikm, byte[] salt, byte[] info, byte[] output)
        {
            if (info.Length > MaxInfoLength)
            {
                throw new System.ArgumentException("HKDF info too long");
            }

            // Extract: PRK = HMAC(salt, IKM). HMAC pads its key with zeros, so an empty salt is the RFC's zero string.
            _mac.Compute(salt == null ? NoSalt : salt, ikm, 0, ikm.Length, _prk);

            // Expand, one block: T(1) = HMAC(PRK, info ‖ 0x01).
            System.Array.Copy(info, 0, _infoBlock, 0, info.Length);
            _infoBlock[info.Length] = 0x01;
            _mac.Compute(_prk, _infoBlock, 0, info.Length + 1, output);
            System.Array.Clear(_prk, 0, _prk.Length);
        }

        /// <summary>HKDF with a one-byte salt, without allocating: the epoch of a frame key (§10).</summary>
        public void Derive(byte[] ikm, byte saltByte, byte[] info, byte[] output)
        {
            _salt1[0] = saltByte;
            Derive(ikm, _salt1, info, output);
        }
    }
}
