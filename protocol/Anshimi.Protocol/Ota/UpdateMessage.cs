namespace Anshimi.Protocol.Ota
{
    /// <summary>
    /// The messages on a device's <c>…/ota/down</c> and <c>…/ota/up</c> (protocol/README.md §11.5): format 1, a type,
    /// then the body. <see cref="Read"/> returns null for anything malformed and never throws on input.
    /// </summary>
    public sealed class UpdateMessage
    {
        public const byte Format = 1;
        public const byte Offer = 1;
        public const byte Chunk = 2;
        public const byte Activate = 3;
        public const byte TrialAccepted = 4;
        public const byte Cancel = 5;
        public const byte ChunkRequest = 16;
        public const byte StateReport = 17;
        public const int MaxChunksInFlight = 8;

        public byte Type;
        public byte[] ReleaseId = new byte[ReleaseManifest.ReleaseIdLength];
        public byte[]? Manifest;
        public byte[]? Signature;
        public int Index;
        public int Offset;
        public byte[]? Data;
        public int Count;
        public byte State;
        public byte Reason;
        public int ChunksDone;
        public int ChunkCount;
        public ReleaseVersion Running = ReleaseVersion.Zero;
        public ReleaseVersion Floor = ReleaseVersion.Zero;
        public string Board = string.Empty;
        public string Profile = string.Empty;

        public static byte[] EncodeOffer(byte[] manifest, byte[] signature)
        {
            var data = new byte[4 + manifest.Length + 64];
            data[0] = Format;
            data[1] = Offer;
            BigEndian.WriteUInt16(data, 2, (ushort)manifest.Length);
            System.Array.Copy(manifest, 0, data, 4, manifest.Length);
            System.Array.Copy(signature, 0, data, 4 + manifest.Length, 64);
            return data;
        }

        public static byte[] EncodeChunk(byte[] releaseId, int index, int offset, byte[] bytes, int bytesOffset, int count)
        {
            var data = new byte[2 + 8 + 2 + 4 + 2 + count];
            data[0] = Format;
            data[1] = Chunk;
            System.Array.Copy(releaseId, 0, data, 2, 8);
            BigEndian.WriteUInt16(data, 10, (ushort)index);
            BigEndian.WriteUInt32(data, 12, (uint)offset);
            BigEndian.WriteUInt16(data, 16, (ushort)count);
            System.Array.Copy(bytes, bytesOffset, data, 18, count);
            return data;
        }

        /// <summary>activate, trial accepted or cancel: the type and the release id.</summary>
        public static byte[] EncodeRelease(byte type, byte[] releaseId)
        {
            var data = new byte[10];
            data[0] = Format;
            data[1] = type;
            System.Array.Copy(releaseId, 0, data, 2, 8);
            return data;
        }

        public static byte[] EncodeChunkRequest(byte[] releaseId, int first, int count)
        {
            var data = new byte[13];
            data[0] = Format;
            data[1] = ChunkRequest;
            System.Array.Copy(releaseId, 0, data, 2, 8);
            BigEndian.WriteUInt16(data, 10, (ushort)first);
            data[12] = (byte)count;
            return data;
        }

        public static byte[] EncodeStateReport(
            byte[] releaseId, byte state, byte reason, int chunksDone, int chunkCount, ReleaseVersion running, ReleaseVersion floor, string board, string profile)
        {
            var data = new byte[2 + 8 + 1 + 1 + 2 + 2 + 6 + 6 + 1 + board.Length + 1 + profile.Length];
            data[0] = Format;
            data[1] = StateReport;
            System.Array.Copy(releaseId, 0, data, 2, 8);
            data[10] = state;
            data[11] = reason;
            BigEndian.WriteUInt16(data, 12, (ushort)chunksDone);
            BigEndian.WriteUInt16(data, 14, (ushort)chunkCount);
            running.Write(data, 16);
            floor.Write(data, 22);
            int at = 28;
            at = WriteText(data, at, board);
            WriteText(data, at, profile);
            return data;
        }

        public static UpdateMessage? Read(byte[] data)
        {
            if (data == null || data.Length < 2 || data[0] != Format)
            {
                return null;
            }

            var message = new UpdateMessage();
            message.Type = data[1];
            switch (message.Type)
            {
                case Offer:
                    if (data.Length < 4)
                    {
                        return null;
                    }

                    int length = BigEndian.ReadUInt16(data, 2);
                    if (data.Length != 4 + length + 64)
                    {
                        return null;
                    }

                    message.Manifest = Slice(data, 4, length);
                    message.Signature = Slice(data, 4 + length, 64);
                    return message;
                case Chunk:
                    if (data.Length < 18)
                    {
                        return null;
                    }

                    System.Array.Copy(data, 2, message.ReleaseId, 0, 8);
                    message.Index = BigEndian.ReadUInt16(data, 10);
                    message.Offset = (int)BigEndian.ReadUInt32(data, 12);
                    message.Count = BigEndian.ReadUInt16(data, 16);
                    if (data.Length != 18 + message.Count)
                    {
                        return null;
                    }

                    message.Data = Slice(data, 18, message.Count);
                    return message;
                case Activate:
                case TrialAccepted:
                case Cancel:
                    if (data.Length != 10)
                    {
                        return null;
                    }

                    System.Array.Copy(data, 2, message.ReleaseId, 0, 8);
                    return message;
                case ChunkRequest:
                    if (data.Length != 13 || data[12] < 1 || data[12] > MaxChunksInFlight)
                    {
                        return null;
                    }

                    System.Array.Copy(data, 2, message.ReleaseId, 0, 8);
                    message.Index = BigEndian.ReadUInt16(data, 10);
                    message.Count = data[12];
                    return message;
                case StateReport:
                    return ReadStateReport(data, message);
                default:
                    return null;
            }
        }

        private static UpdateMessage? ReadStateReport(byte[] data, UpdateMessage message)
        {
            if (data.Length < 30)
            {
                return null;
            }

            System.Array.Copy(data, 2, message.ReleaseId, 0, 8);
            message.State = data[10];
            message.Reason = data[11];
            message.ChunksDone = BigEndian.ReadUInt16(data, 12);
            message.ChunkCount = BigEndian.ReadUInt16(data, 14);
            message.Running = ReleaseVersion.Read(data, 16);
            message.Floor = ReleaseVersion.Read(data, 22);
            int at = 28;
            string? board = ReadText(data, ref at);
            string? profile = board == null ? null : ReadText(data, ref at);
            if (profile == null || board == null || at != data.Length || UpdateState.NameOf(message.State) == null ||
                (message.Reason != UpdateReason.None && UpdateReason.NameOf(message.Reason) == null))
            {
                return null;
            }

            message.Board = board;
            message.Profile = profile;
            return message;
        }

        private static int WriteText(byte[] data, int at, string text)
        {
            data[at++] = (byte)text.Length;
            for (int i = 0; i < text.Length; i++)
            {
                data[at++] = (byte)text[i];
            }

            return at;
        }

        private static string? ReadText(byte[] data, ref int at)
        {
            if (at >= data.Length)
            {
                return null;
            }

            int length = data[at++];
            if (length < 1 || length > ReleaseManifest.MaxTextLength || at + length > data.Length)
            {
                return null;
            }

            var chars = new char[length];
            for (int i = 0; i < length; i++)
            {
                byte b = data[at + i];
                if (b < 0x21 || b > 0x7E)
                {
                    return null;
                }

                chars[i] = (char)b;
            }

            at += length;
            return new string(chars);
        }

        private static byte[] Slice(byte[] data, int offset, int count)
        {
            var slice = new byte[count];
            System.Array.Copy(data, offset, slice, 0, count);
            return slice;
        }
    }
}
