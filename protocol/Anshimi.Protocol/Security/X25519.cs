namespace Anshimi.Protocol.Security
{
    /// <summary>
    /// RFC 7748 X25519 Diffie-Hellman in portable code: the Montgomery ladder of TweetNaCl's
    /// crypto_scalarmult (tweetnacl.cr.yp.to, public domain), constant-time in the scalar. Checked against
    /// every RFC 7748 vector and a host library by the tests. Allocation-free after construction; not thread-safe.
    /// </summary>
    public sealed class X25519
    {
        public const int KeyLength = 32;

        private static readonly long[] A24 = { 0xDB41, 1 }; // (486662 - 2) / 4 = 121665
        private static readonly byte[] BasePoint = { 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

        private readonly Field25519 _field = new Field25519();
        private readonly byte[] _scalar = new byte[KeyLength];
        private readonly long[] _a24 = Field25519.Element();
        private readonly long[] _x = Field25519.Element();
        private readonly long[] _a = Field25519.Element();
        private readonly long[] _b = Field25519.Element();
        private readonly long[] _c = Field25519.Element();
        private readonly long[] _d = Field25519.Element();
        private readonly long[] _e = Field25519.Element();
        private readonly long[] _f = Field25519.Element();

        public X25519()
        {
            _a24[0] = A24[0];
            _a24[1] = A24[1];
        }

        /// <summary>
        /// Writes X25519(scalar, point) to output[outputOffset..+32). Returns false when the result is all
        /// zero (the peer sent a low-order point), which callers must treat as a failed key agreement (RFC 7748 §6.1).
        /// </summary>
        public bool Compute(byte[] output, int outputOffset, byte[] scalar, int scalarOffset, byte[] point, int pointOffset)
        {
            Field25519 field = _field;
            byte[] z = _scalar;
            System.Array.Copy(scalar, scalarOffset, z, 0, KeyLength);
            z[31] = (byte)((z[31] & 127) | 64);
            z[0] &= 248;
            Field25519.Unpack(_x, point, pointOffset);
            long[] a = _a, b = _b, c = _c, d = _d, e = _e, f = _f;
            Field25519.Set(b, _x);
            Field25519.SetSmall(a, 1);
            Field25519.SetSmall(c, 0);
            Field25519.SetSmall(d, 1);
            for (int i = 254; i >= 0; --i)
            {
                int r = (z[i >> 3] >> (i & 7)) & 1;
                Field25519.Swap(a, b, r);
                Field25519.Swap(c, d, r);
                Field25519.Add(e, a, c);
                Field25519.Subtract(a, a, c);
                Field25519.Add(c, b, d);
                Field25519.Subtract(b, b, d);
                field.Square(d, e);
                field.Square(f, a);
                field.Multiply(a, c, a);
                field.Multiply(c, b, e);
                Field25519.Add(e, a, c);
                Field25519.Subtract(a, a, c);
                field.Square(b, a);
                Field25519.Subtract(c, d, f);
                field.Multiply(a, c, _a24);
                Field25519.Add(a, a, d);
                field.Multiply(c, c, a);
                field.Multiply(a, d, f);
                field.Multiply(d, b, _x);
                field.Square(b, e);
                Field25519.Swap(a, b, r);
                Field25519.Swap(c, d, r);
            }

            field.Invert(c, c);
            field.Multiply(a, a, c);
            field.Pack(output, outputOffset, a);
            System.Array.Clear(z, 0, KeyLength);
            return !ConstantTime.IsZero(output, outputOffset, KeyLength);
        }

        /// <summary>Writes the public key X25519(privateKey, 9) to output[outputOffset..+32).</summary>
        public void PublicKey(byte[] output, int outputOffset, byte[] privateKey, int privateKeyOffset)
        {
            Compute(output, outputOffset, privateKey, privateKeyOffset, BasePoint, 0);
        }
    }
}
