namespace Anshimi.Protocol.Security
{
    /// <summary>
    /// RFC 8032 Ed25519 signature verification in portable code, ported from TweetNaCl's crypto_sign_open
    /// (tweetnacl.cr.yp.to, public domain) with the RFC's decoding rules added: S must be below the group
    /// order L, and the public key must be a canonical encoding of a curve point. The message is hashed in
    /// place, never copied. Checked against every RFC 8032 §7.1 vector and a host library by the tests.
    /// Allocation-free after construction; not thread-safe.
    /// </summary>
    public sealed class Ed25519
    {
        public const int PublicKeyLength = 32;
        public const int SignatureLength = 64;

        // d = -121665/121666, 2d, the base point's x and y, and sqrt(-1), in the field's limbs.
        private static readonly long[] D = { 0x78a3, 0x1359, 0x4dca, 0x75eb, 0xd8ab, 0x4141, 0x0a4d, 0x0070, 0xe898, 0x7779, 0x4079, 0x8cc7, 0xfe73, 0x2b6f, 0x6cee, 0x5203 };
        private static readonly long[] D2 = { 0xf159, 0x26b2, 0x9b94, 0xebd6, 0xb156, 0x8283, 0x149a, 0x00e0, 0xd130, 0xeef3, 0x80f2, 0x198e, 0xfce7, 0x56df, 0xd9dc, 0x2406 };
        private static readonly long[] X = { 0xd51a, 0x8f25, 0x2d60, 0xc956, 0xa7b2, 0x9525, 0xc760, 0x692c, 0xdc5c, 0xfdd6, 0xe231, 0xc0a4, 0x53fe, 0xcd6e, 0x36d3, 0x2169 };
        private static readonly long[] Y = { 0x6658, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666 };
        private static readonly long[] I = { 0xa0b0, 0x4a0e, 0x1b27, 0xc4ee, 0xe478, 0xad2f, 0x1806, 0x2f43, 0xd7a7, 0x3dfb, 0x0099, 0x2b4d, 0xdf0b, 0x4fc1, 0x2480, 0x2b83 };

        // The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
        private static readonly long[] L =
        {
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        };

        private readonly Field25519 _field = new Field25519();
        private readonly Sha512 _sha = new Sha512();
        private readonly byte[] _hash = new byte[Sha512.HashLength];
        private readonly long[] _wide = new long[64];
        private readonly byte[] _encoded = new byte[32];

        // Points in extended coordinates (X, Y, Z, T): the accumulator, -A and the base point B.
        private readonly long[][] _p = NewPoint();
        private readonly long[][] _q = NewPoint();
        private readonly long[][] _base = NewPoint();

        private readonly long[] _t0 = Field25519.Element();
        private readonly long[] _t1 = Field25519.Element();
        private readonly long[] _t2 = Field25519.Element();
        private readonly long[] _t3 = Field25519.Element();
        private readonly long[] _t4 = Field25519.Element();
        private readonly long[] _t5 = Field25519.Element();
        private readonly long[] _t6 = Field25519.Element();
        private readonly long[] _t7 = Field25519.Element();
        private readonly long[] _t8 = Field25519.Element();
        private readonly long[] _zero = Field25519.Element();
        private readonly long[] _one = Field25519.Element();

        public Ed25519()
        {
            _one[0] = 1;
        }

        /// <summary>
        /// True when signature[signatureOffset..+64) is publicKey's Ed25519 signature of
        /// message[offset..offset+count); false for a wrong signature, a non-canonical S or an invalid key.
        /// </summary>
        public bool Verify(byte[] publicKey, int publicKeyOffset, byte[] message, int offset, int count, byte[] signature, int signatureOffset)
        {
            if (!IsBelowOrder(signature, signatureOffset + 32) || !DecodeNegated(_q, publicKey, publicKeyOffset))
            {
                return false;
            }

            _sha.Update(signature, signatureOffset, 32);
            _sha.Update(publicKey, publicKeyOffset, PublicKeyLength);
            _sha.Update(message, offset, count);
            _sha.Final(_hash, 0);
            Reduce(_hash);

            // R' = [S]B - [k]A; the signature holds when R' encodes to the signature's R.
            Field25519.Set(_base[0], X);
            Field25519.Set(_base[1], Y);
            Field25519.Set(_base[2], _one);
            _field.Multiply(_base[3], X, Y);
            DoubleScalarMultiply(_p, _hash, _q, signature, signatureOffset + 32, _base);
            Encode(_encoded, _p);
            return ConstantTime.Equal(_encoded, 0, signature, signatureOffset, 32);
        }

        private static long[][] NewPoint()
        {
            return new long[][] { Field25519.Element(), Field25519.Element(), Field25519.Element(), Field25519.Element() };
        }

        private static bool IsBelowOrder(byte[] s, int offset)
        {
            for (int i = 31; i >= 0; i--)
            {
                if (s[offset + i] < L[i])
                {
                    return true;
                }

                if (s[offset + i] > L[i])
                {
                    return false;
                }
            }

            return false;
        }

        // Reads a public key as -A (the verification equation wants -[k]A). False when y is not below p,
        // no x exists, or x is zero with its sign bit set (RFC 8032 §5.1.3).
        private bool DecodeNegated(long[][] r, byte[] p, int offset)
        {
            if (!IsCanonicalY(p, offset))
            {
                return false;
            }

            Field25519 f = _field;
            long[] t = _t0, chk = _t1, num = _t2, den = _t3, den2 = _t4, den4 = _t5, den6 = _t6;
            Field25519.Set(r[2], _one);
            Field25519.Unpack(r[1], p, offset);
            f.Square(num, r[1]);
            f.Multiply(den, num, D);
            Field25519.Subtract(num, num, r[2]);
            Field25519.Add(den, r[2], den);

            f.Square(den2, den);
            f.Square(den4, den2);
            f.Multiply(den6, den4, den2);
            f.Multiply(t, den6, num);
            f.Multiply(t, t, den);

            f.Pow2523(t, t);
            f.Multiply(t, t, num);
            f.Multiply(t, t, den);
            f.Multiply(t, t, den);
            f.Multiply(r[0], t, den);

            f.Square(chk, r[0]);
            f.Multiply(chk, chk, den);
            if (!f.Equal(chk, num))
            {
                f.Multiply(r[0], r[0], I);
            }

            f.Square(chk, r[0]);
            f.Multiply(chk, chk, den);
            if (!f.Equal(chk, num))
            {
                return false;
            }

            int sign = p[offset + 31] >> 7;
            if (sign == 1 && f.Equal(r[0], _zero))
            {
                return false;
            }

            if (f.Parity(r[0]) == sign)
            {
                Field25519.Subtract(r[0], _zero, r[0]);
            }

            f.Multiply(r[3], r[0], r[1]);
            return true;
        }

        // y (the low 255 bits) must be below p = 2^255 - 19.
        private static bool IsCanonicalY(byte[] p, int offset)
        {
            if ((p[offset + 31] & 0x7f) != 0x7f)
            {
                return true;
            }

            for (int i = 30; i >= 1; i--)
            {
                if (p[offset + i] != 0xff)
                {
                    return true;
                }
            }

            return p[offset] < 0xed;
        }

        private void Encode(byte[] r, long[][] p)
        {
            Field25519 f = _field;
            long[] zi = _t0, tx = _t1, ty = _t2;
            f.Invert(zi, p[2]);
            f.Multiply(tx, p[0], zi);
            f.Multiply(ty, p[1], zi);
            f.Pack(r, 0, ty);
            r[31] ^= (byte)(f.Parity(tx) << 7);
        }

        // p += q in extended twisted Edwards coordinates (the unified formula, so it also doubles); p may be q.
        private void AddPoint(long[][] p, long[][] q)
        {
            Field25519 f = _field;
            long[] a = _t0, b = _t1, c = _t2, d = _t3, t = _t4, e = _t5, g = _t6, h = _t7, ff = _t8;
            Field25519.Subtract(a, p[1], p[0]);
            Field25519.Subtract(t, q[1], q[0]);
            f.Multiply(a, a, t);
            Field25519.Add(b, p[0], p[1]);
            Field25519.Add(t, q[0], q[1]);
            f.Multiply(b, b, t);
            f.Multiply(c, p[3], q[3]);
            f.Multiply(c, c, D2);
            f.Multiply(d, p[2], q[2]);
            Field25519.Add(d, d, d);
            Field25519.Subtract(e, b, a);
            Field25519.Subtract(ff, d, c);
            Field25519.Add(g, d, c);
            Field25519.Add(h, b, a);

            f.Multiply(p[0], e, ff);
            f.Multiply(p[1], h, g);
            f.Multiply(p[2], g, ff);
            f.Multiply(p[3], e, h);
        }

        // p = [h]a + [s]b by one shared double-and-add pass. Verification handles only public values, so
        // unlike signing it may branch on the scalars' bits; this halves the work of two separate ladders.
        private void DoubleScalarMultiply(long[][] p, byte[] h, long[][] a, byte[] s, int sOffset, long[][] b)
        {
            Field25519.Set(p[0], _zero);
            Field25519.Set(p[1], _one);
            Field25519.Set(p[2], _one);
            Field25519.Set(p[3], _zero);
            for (int i = 255; i >= 0; --i)
            {
                AddPoint(p, p);
                if (((h[i >> 3] >> (i & 7)) & 1) != 0)
                {
                    AddPoint(p, a);
                }

                if (((s[sOffset + (i >> 3)] >> (i & 7)) & 1) != 0)
                {
                    AddPoint(p, b);
                }
            }
        }

        // r[0..32) = r[0..64) mod L.
        private void Reduce(byte[] r)
        {
            long[] x = _wide;
            for (int i = 0; i < 64; i++)
            {
                x[i] = r[i];
                r[i] = 0;
            }

            ModL(r, x);
        }

        private static void ModL(byte[] r, long[] x)
        {
            long carry;
            int j;
            for (int i = 63; i >= 32; --i)
            {
                carry = 0;
                for (j = i - 32; j < i - 12; ++j)
                {
                    x[j] += carry - (16 * x[i] * L[j - (i - 32)]);
                    carry = (x[j] + 128) >> 8;
                    x[j] -= carry << 8;
                }

                x[j] += carry;
                x[i] = 0;
            }

            carry = 0;
            for (j = 0; j < 32; j++)
            {
                x[j] += carry - ((x[31] >> 4) * L[j]);
                carry = x[j] >> 8;
                x[j] &= 255;
            }

            for (j = 0; j < 32; j++)
            {
                x[j] -= carry * L[j];
            }

            for (int i = 0; i < 32; i++)
            {
                x[i + 1] += x[i] >> 8;
                r[i] = (byte)(x[i] & 255);
            }
        }
    }
}
