namespace Anshimi.Protocol.Security
{
    /// <summary>RFC 2104 HMAC over the portable <see cref="Sha256"/>. Allocation-free after construction; not thread-safe.</summary>
    public sealed class HmacSha256 : IHmacSha256
    {
        private readonly Sha256 _sha = new Sha256();
        private readonly byte[] _pad = new byte[Sha256.BlockLength];
        private readonly byte[] _keyBlock = new byte[Sha256.BlockLength];
        private readonly byte[] _inner = new byte[Sha256.HashLength];

        public void Compute(byte[] key, byte[] data, int offset, int count, byte[] output)
        {
            System.Array.Clear(_keyBlock, 0, _keyBlock.Length);
            if (key.Length > Sha256.BlockLength)
            {
                _sha.Update(key, 0, key.Length);
                _sha.Final(_keyBlock, 0);
            }
            else
            {
                System.Array.Copy(key, 0, _keyBlock, 0, key.Length);
            }

            for (int i = 0; i < Sha256.BlockLength; i++)
            {
                _pad[i] = (byte)(_keyBlock[i] ^ 0x36);
            }

            _sha.Update(_pad, 0, _pad.Length);
            _sha.Update(data, offset, count);
            _sha.Final(_inner, 0);

            for (int i = 0; i < Sha256.BlockLength; i++)
            {
                _pad[i] = (byte)(_keyBlock[i] ^ 0x5c);
            }

            _sha.Update(_pad, 0, _pad.Length);
            _sha.Update(_inner, 0, _inner.Length);
            _sha.Final(output, 0);
        }
    }
}
