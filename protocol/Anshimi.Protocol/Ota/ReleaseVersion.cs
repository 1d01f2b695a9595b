namespace Anshimi.Protocol.Ota
{
    /// <summary>
    /// A firmware version <c>major.minor.patch</c>, each 0–65535 (protocol/README.md §11.1): six big-endian bytes on the
    /// wire, compared component by component.
    /// </summary>
    public sealed class ReleaseVersion
    {
        public const int Length = 6;

        public static readonly ReleaseVersion Zero = new ReleaseVersion(0, 0, 0);

        public ReleaseVersion(int major, int minor, int patch)
        {
            if (major < 0 || major > 0xFFFF || minor < 0 || minor > 0xFFFF || patch < 0 || patch > 0xFFFF)
            {
                throw new System.ArgumentOutOfRangeException(nameof(major), "each part of a version is 0-65535");
            }

            Major = major;
            Minor = minor;
            Patch = patch;
        }

        public int Major { get; }

        public int Minor { get; }

        public int Patch { get; }

        public static ReleaseVersion Read(byte[] data, int offset)
        {
            return new ReleaseVersion(BigEndian.ReadUInt16(data, offset), BigEndian.ReadUInt16(data, offset + 2), BigEndian.ReadUInt16(data, offset + 4));
        }

        /// <summary>The version written as <c>1.4.2</c>, or null for anything else (no signs, spaces or leading '+').</summary>
        public static ReleaseVersion? Parse(string? text)
        {
            if (text == null || text.Length < 5 || text.Length > 17)
            {
                return null;
            }

            var parts = new int[3];
            int part = 0;
            int digits = 0;
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (c == '.')
                {
                    if (digits == 0 || part == 2)
                    {
                        return null;
                    }

                    part++;
                    digits = 0;
                }
                else if (c >= '0' && c <= '9' && digits < 5)
                {
                    parts[part] = (parts[part] * 10) + (c - '0');
                    digits++;
                }
                else
                {
                    return null;
                }
            }

            if (part != 2 || digits == 0 || parts[0] > 0xFFFF || parts[1] > 0xFFFF || parts[2] > 0xFFFF)
            {
                return null;
            }

            return new ReleaseVersion(parts[0], parts[1], parts[2]);
        }

        public void Write(byte[] data, int offset)
        {
            BigEndian.WriteUInt16(data, offset, (ushort)Major);
            BigEndian.WriteUInt16(data, offset + 2, (ushort)Minor);
            BigEndian.WriteUInt16(data, offset + 4, (ushort)Patch);
        }

        /// <summary>Negative when this version is older than <paramref name="other"/>, zero when equal, positive when newer.</summary>
        public int CompareTo(ReleaseVersion other)
        {
            if (Major != other.Major)
            {
                return Major - other.Major;
            }

            return Minor != other.Minor ? Minor - other.Minor : Patch - other.Patch;
        }

        public override string ToString()
        {
            return Major.ToString() + "." + Minor.ToString() + "." + Patch.ToString();
        }
    }
}
