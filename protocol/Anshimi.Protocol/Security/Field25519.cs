namespace Anshimi.Protocol.Security
{
    /// <summary>
    /// Arithmetic modulo p = 2^255 - 19 on sixteen signed 16-bit limbs held in longs, ported from
    /// TweetNaCl (D. J. Bernstein, W. Janssen, T. Lange, P. Schwabe et al., tweetnacl.cr.yp.to; public
    /// domain). Branch-free on secret data like the original. Scratch space lives in the instance, so it
    /// is allocation-free after construction and not thread-safe.
    /// </summary>
    internal sealed class Field25519
    {
        public const int Limbs = 16;

        private readonly long[] _product = new long[31];
        private readonly long[] _packed = new long[Limbs];
        private readonly long[] _trial = new long[Limbs];
        private readonly long[] _power = new long[Limbs];
        private readonly byte[] _left = new byte[32];
        private readonly byte[] _right = new byte[32];

        public static long[] Element()
        {
            return new long[Limbs];
        }

        public static long[] Element(long[] limbs)
        {
            long[] r = new long[Limbs];
            System.Array.Copy(limbs, r, Limbs);
            return r;
        }

        public static void Set(long[] r, long[] a)
        {
            System.Array.Copy(a, r, Limbs);
        }

        public static void SetSmall(long[] r, long value)
        {
            System.Array.Clear(r, 0, Limbs);
            r[0] = value;
        }

        public static void Carry(long[] o)
        {
            for (int i = 0; i < Limbs; i++)
            {
                o[i] += 1L << 16;
                long c = o[i] >> 16;
                if (i < 15)
                {
                    o[i + 1] += c - 1;
                }
                else
                {
                    o[0] += 38 * (c - 1);
                }

                o[i] -= c << 16;
            }
        }

        /// <summary>Swaps p and q when b is 1, leaves them when b is 0, without a branch on b.</summary>
        public static void Swap(long[] p, long[] q, int b)
        {
            long mask = ~((long)b - 1);
            for (int i = 0; i < Limbs; i++)
            {
                long t = mask & (p[i] ^ q[i]);
                p[i] ^= t;
                q[i] ^= t;
            }
        }

        public static void Add(long[] o, long[] a, long[] b)
        {
            for (int i = 0; i < Limbs; i++)
            {
                o[i] = a[i] + b[i];
            }
        }

        public static void Subtract(long[] o, long[] a, long[] b)
        {
            for (int i = 0; i < Limbs; i++)
            {
                o[i] = a[i] - b[i];
            }
        }

        /// <summary>Reads 32 little-endian bytes, ignoring the top bit (RFC 7748 §5).</summary>
        public static void Unpack(long[] o, byte[] n, int offset)
        {
            for (int i = 0; i < Limbs; i++)
            {
                o[i] = n[offset + (2 * i)] + ((long)n[offset + (2 * i) + 1] << 8);
            }

            o[15] &= 0x7fff;
        }

        /// <summary>Writes the canonical (fully reduced) 32-byte encoding of n.</summary>
        public void Pack(byte[] o, int offset, long[] n)
        {
            long[] t = _packed;
            long[] m = _trial;
            Set(t, n);
            Carry(t);
            Carry(t);
            Carry(t);
            for (int j = 0; j < 2; j++)
            {
                m[0] = t[0] - 0xffed;
                for (int i = 1; i < 15; i++)
                {
                    m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1);
                    m[i - 1] &= 0xffff;
                }

                m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1);
                int b = (int)((m[15] >> 16) & 1);
                m[14] &= 0xffff;
                Swap(t, m, 1 - b);
            }

            for (int i = 0; i < Limbs; i++)
            {
                o[offset + (2 * i)] = (byte)t[i];
                o[offset + (2 * i) + 1] = (byte)(t[i] >> 8);
            }
        }

        public bool Equal(long[] a, long[] b)
        {
            Pack(_left, 0, a);
            Pack(_right, 0, b);
            return ConstantTime.Equal(_left, 0, _right, 0, 32);
        }

        /// <summary>The low bit of the canonical encoding: the "sign" of a coordinate in RFC 8032.</summary>
        public int Parity(long[] a)
        {
            Pack(_left, 0, a);
            return _left[0] & 1;
        }

        public void Multiply(long[] o, long[] a, long[] b)
        {
            long[] t = _product;
            System.Array.Clear(t, 0, t.Length);
            for (int i = 0; i < Limbs; i++)
            {
                long ai = a[i];
                for (int j = 0; j < Limbs; j++)
                {
                    t[i + j] += ai * b[j];
                }
            }

            // 2^256 = 38 mod p folds the upper half back in.
            for (int i = 0; i < 15; i++)
            {
                t[i] += 38 * t[i + 16];
            }

            System.Array.Copy(t, o, Limbs);
            Carry(o);
            Carry(o);
        }

        public void Square(long[] o, long[] a)
        {
            Multiply(o, a, a);
        }

        /// <summary>o = i^(p-2) = 1/i by Fermat; o may be i.</summary>
        public void Invert(long[] o, long[] i)
        {
            long[] c = _power;
            Set(c, i);
            for (int a = 253; a >= 0; a--)
            {
                Square(c, c);
                if (a != 2 && a != 4)
                {
                    Multiply(c, c, i);
                }
            }

            Set(o, c);
        }

        /// <summary>o = i^((p-5)/8), the square-root step of point decoding; o may be i.</summary>
        public void Pow2523(long[] o, long[] i)
        {
            long[] c = _power;
            Set(c, i);
            for (int a = 250; a >= 0; a--)
            {
                Square(c, c);
                if (a != 1)
                {
                    Multiply(c, c, i);
                }
            }

            Set(o, c);
        }
    }
}
