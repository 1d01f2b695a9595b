using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Security;

namespace Anshimi.Protocol.Ota
{
    /// <summary>
    /// The signed description of a firmware release (protocol/README.md §11.2): what it fits, which versions it may
    /// replace, and the SHA-256 of every chunk and of the whole image. <see cref="Read"/> returns null for anything out of
    /// range and never throws on input; <see cref="Encode"/> writes the exact bytes the release key signs.
    /// </summary>
    public sealed class ReleaseManifest
    {
        public const byte Format = 1;
        public const int KeyIdLength = 8;
        public const int ReleaseIdLength = 8;
        public const int HashLength = 32;
        public const int MinChunkSize = 256;
        public const int MaxChunkSize = 8192;
        public const int MaxImageSize = 4 * 1024 * 1024;
        public const int MaxNames = 8;
        public const int MaxAssemblies = 32;
        public const int MaxTextLength = 64;
        public const int MinLength = 64;
        public const int MaxLength = 65536;

        private static readonly byte[] Magic = { 0x41, 0x4F, 0x54, 0x41 };

        public ReleaseManifest(
            byte[] keyId,
            ReleaseVersion version,
            ReleaseVersion minimumVersion,
            ReleaseVersion floor,
            long createdUnixSeconds,
            int imageSize,
            int chunkSize,
            byte[] imageHash,
            string[] kinds,
            string[] boards,
            string entry,
            string[] assemblyNames,
            int[] assemblyLengths,
            byte[][] chunkHashes)
        {
            KeyId = keyId;
            Version = version;
            MinimumVersion = minimumVersion;
            Floor = floor;
            CreatedUnixSeconds = createdUnixSeconds;
            ImageSize = imageSize;
            ChunkSize = chunkSize;
            ImageHash = imageHash;
            Kinds = kinds;
            Boards = boards;
            Entry = entry;
            AssemblyNames = assemblyNames;
            AssemblyLengths = assemblyLengths;
            ChunkHashes = chunkHashes;
        }

        /// <summary>First 8 bytes of SHA-256 over the release public key that signed it.</summary>
        public byte[] KeyId { get; }

        public ReleaseVersion Version { get; }

        /// <summary>The oldest running version this release may replace.</summary>
        public ReleaseVersion MinimumVersion { get; }

        /// <summary>The anti-rollback floor a device takes once it confirms this release.</summary>
        public ReleaseVersion Floor { get; }

        public long CreatedUnixSeconds { get; }

        public int ImageSize { get; }

        public int ChunkSize { get; }

        public byte[] ImageHash { get; }

        /// <summary>Device profiles it fits (<c>home</c>, <c>shop</c>, …).</summary>
        public string[] Kinds { get; }

        /// <summary>Boards it fits: <c>hardware/</c> folder names.</summary>
        public string[] Boards { get; }

        /// <summary>The type whose static <c>Main()</c> the loader calls.</summary>
        public string Entry { get; }

        public string[] AssemblyNames { get; }

        public int[] AssemblyLengths { get; }

        public byte[][] ChunkHashes { get; }

        public int ChunkCount
        {
            get { return ChunkHashes.Length; }
        }

        /// <summary>Chunks needed for an image: ⌈size / chunk size⌉.</summary>
        public static int ChunksFor(int imageSize, int chunkSize)
        {
            return (imageSize + chunkSize - 1) / chunkSize;
        }

        /// <summary>Length of chunk <paramref name="index"/> (the last may be shorter).</summary>
        public int ChunkLength(int index)
        {
            int start = index * ChunkSize;
            int left = ImageSize - start;
            return left < ChunkSize ? left : ChunkSize;
        }

        /// <summary>True when a device of this profile and board may take the release.</summary>
        public bool Fits(string profile, string board)
        {
            return Contains(Kinds, profile) && Contains(Boards, board);
        }

        public bool FitsKind(string profile)
        {
            return Contains(Kinds, profile);
        }

        public bool FitsBoard(string board)
        {
            return Contains(Boards, board);
        }

        /// <summary>True when <paramref name="data"/>[offset..+count) is chunk <paramref name="index"/> exactly.</summary>
        public bool IsChunk(int index, byte[] data, int offset, int count, Sha256 sha)
        {
            if (index < 0 || index >= ChunkCount || count != ChunkLength(index))
            {
                return false;
            }

            var hash = new byte[HashLength];
            sha.Update(data, offset, count);
            sha.Final(hash, 0);
            return ProvisioningCodec.SameBytes(hash, ChunkHashes[index]);
        }

        /// <summary>The release id: first 8 bytes of SHA-256 over the manifest bytes.</summary>
        public static byte[] ReleaseIdOf(byte[] manifestBytes, Sha256 sha)
        {
            var hash = new byte[HashLength];
            sha.Update(manifestBytes, 0, manifestBytes.Length);
            sha.Final(hash, 0);
            var id = new byte[ReleaseIdLength];
            System.Array.Copy(hash, 0, id, 0, ReleaseIdLength);
            return id;
        }

        /// <summary>Lower-case hex, as release ids and key ids are written in JSON.</summary>
        public static string Hex(byte[] bytes)
        {
            const string digits = "0123456789abcdef";
            var chars = new char[bytes.Length * 2];
            for (int i = 0; i < bytes.Length; i++)
            {
                chars[2 * i] = digits[bytes[i] >> 4];
                chars[(2 * i) + 1] = digits[bytes[i] & 0x0F];
            }

            return new string(chars);
        }

        public static ReleaseManifest? Read(byte[] data)
        {
            if (data == null || data.Length < MinLength || data.Length > MaxLength)
            {
                return null;
            }

            for (int i = 0; i < Magic.Length; i++)
            {
                if (data[i] != Magic[i])
                {
                    return null;
                }
            }

            if (data[4] != Format)
            {
                return null;
            }

            var keyId = Slice(data, 5, KeyIdLength);
            ReleaseVersion version = ReleaseVersion.Read(data, 13);
            ReleaseVersion minimum = ReleaseVersion.Read(data, 19);
            ReleaseVersion floor = ReleaseVersion.Read(data, 25);
            long created = ((long)BigEndian.ReadUInt32(data, 31) << 32) | BigEndian.ReadUInt32(data, 35);
            uint imageSize = BigEndian.ReadUInt32(data, 39);
            int chunkSize = BigEndian.ReadUInt16(data, 43);
            if (minimum.CompareTo(version) > 0 || floor.CompareTo(version) > 0 || imageSize < 1 || imageSize > MaxImageSize ||
                chunkSize < MinChunkSize || chunkSize > MaxChunkSize || created < 0)
            {
                return null;
            }

            var imageHash = Slice(data, 45, HashLength);
            int at = 45 + HashLength;
            string[]? kinds = ReadNames(data, ref at);
            string[]? boards = kinds == null ? null : ReadNames(data, ref at);
            string? entry = boards == null ? null : ReadText(data, ref at);
            if (kinds == null || boards == null || entry == null || at >= data.Length)
            {
                return null;
            }

            int assemblies = data[at++];
            if (assemblies < 1 || assemblies > MaxAssemblies)
            {
                return null;
            }

            var names = new string[assemblies];
            var lengths = new int[assemblies];
            long total = 0;
            for (int i = 0; i < assemblies; i++)
            {
                string? name = ReadText(data, ref at);
                if (name == null || !EndsWithPe(name) || Contains(names, name) || at + 4 > data.Length)
                {
                    return null;
                }

                uint length = BigEndian.ReadUInt32(data, at);
                at += 4;
                if (length < 1 || length > MaxImageSize)
                {
                    return null;
                }

                names[i] = name;
                lengths[i] = (int)length;
                total += length;
            }

            if (total != imageSize || at + 2 > data.Length)
            {
                return null;
            }

            int chunks = BigEndian.ReadUInt16(data, at);
            at += 2;
            if (chunks != ChunksFor((int)imageSize, chunkSize) || at + (chunks * HashLength) != data.Length)
            {
                return null;
            }

            var hashes = new byte[chunks][];
            for (int i = 0; i < chunks; i++)
            {
                hashes[i] = Slice(data, at, HashLength);
                at += HashLength;
            }

            return new ReleaseManifest(keyId, version, minimum, floor, created, (int)imageSize, chunkSize, imageHash, kinds, boards, entry, names, lengths, hashes);
        }

        public byte[] Encode()
        {
            int length = 45 + HashLength + NamesLength(Kinds) + NamesLength(Boards) + 1 + Entry.Length + 1 + 2 + (ChunkHashes.Length * HashLength);
            for (int i = 0; i < AssemblyNames.Length; i++)
            {
                length += 1 + AssemblyNames[i].Length + 4;
            }

            var data = new byte[length];
            System.Array.Copy(Magic, 0, data, 0, Magic.Length);
            data[4] = Format;
            System.Array.Copy(KeyId, 0, data, 5, KeyIdLength);
            Version.Write(data, 13);
            MinimumVersion.Write(data, 19);
            Floor.Write(data, 25);
            BigEndian.WriteUInt32(data, 31, (uint)(CreatedUnixSeconds >> 32));
            BigEndian.WriteUInt32(data, 35, (uint)CreatedUnixSeconds);
            BigEndian.WriteUInt32(data, 39, (uint)ImageSize);
            BigEndian.WriteUInt16(data, 43, (ushort)ChunkSize);
            System.Array.Copy(ImageHash, 0, data, 45, HashLength);
            int at = 45 + HashLength;
            at = WriteNames(data, at, Kinds);
            at = WriteNames(data, at, Boards);
            at = WriteText(data, at, Entry);
            data[at++] = (byte)AssemblyNames.Length;
            for (int i = 0; i < AssemblyNames.Length; i++)
            {
                at = WriteText(data, at, AssemblyNames[i]);
                BigEndian.WriteUInt32(data, at, (uint)AssemblyLengths[i]);
                at += 4;
            }

            BigEndian.WriteUInt16(data, at, (ushort)ChunkHashes.Length);
            at += 2;
            for (int i = 0; i < ChunkHashes.Length; i++)
            {
                System.Array.Copy(ChunkHashes[i], 0, data, at, HashLength);
                at += HashLength;
            }

            return data;
        }

        private static string[]? ReadNames(byte[] data, ref int at)
        {
            if (at >= data.Length)
            {
                return null;
            }

            int count = data[at++];
            if (count < 1 || count > MaxNames)
            {
                return null;
            }

            var names = new string[count];
            for (int i = 0; i < count; i++)
            {
                string? name = ReadText(data, ref at);
                if (name == null)
                {
                    return null;
                }

                names[i] = name;
            }

            return names;
        }

        private static string? ReadText(byte[] data, ref int at)
        {
            if (at >= data.Length)
            {
                return null;
            }

            int length = data[at];
            string? text = ProvisioningText.Read(data, at + 1, length, MaxTextLength);
            at += 1 + length;
            return text;
        }

        private static int NamesLength(string[] names)
        {
            int length = 1;
            for (int i = 0; i < names.Length; i++)
            {
                length += 1 + names[i].Length;
            }

            return length;
        }

        private static int WriteNames(byte[] data, int at, string[] names)
        {
            data[at++] = (byte)names.Length;
            for (int i = 0; i < names.Length; i++)
            {
                at = WriteText(data, at, names[i]);
            }

            return at;
        }

        private static int WriteText(byte[] data, int at, string text)
        {
            if (!ProvisioningText.IsValid(text, MaxTextLength))
            {
                throw new System.ArgumentException("manifest text must be 1-64 printable ASCII characters", nameof(text));
            }

            byte[] bytes = ProvisioningText.ToBytes(text);
            data[at] = (byte)bytes.Length;
            System.Array.Copy(bytes, 0, data, at + 1, bytes.Length);
            return at + 1 + bytes.Length;
        }

        private static bool EndsWithPe(string name)
        {
            int n = name.Length;
            return n > 3 && name[n - 3] == '.' && (name[n - 2] == 'p' || name[n - 2] == 'P') && (name[n - 1] == 'e' || name[n - 1] == 'E');
        }

        private static bool Contains(string[] names, string name)
        {
            for (int i = 0; i < names.Length; i++)
            {
                if (names[i] == name)
                {
                    return true;
                }
            }

            return false;
        }

        private static byte[] Slice(byte[] data, int offset, int count)
        {
            var slice = new byte[count];
            System.Array.Copy(data, offset, slice, 0, count);
            return slice;
        }
    }
}
