using Anshimi.Protocol.Security;

namespace Anshimi.Protocol.Ota
{
    /// <summary>
    /// The BLE carousel that updates streetlights (protocol/README.md §11.9): what travels in the manufacturer data of one
    /// legacy advertisement (at most 27 bytes, no Flags). The first byte, <c>0xC0</c> | kind, can never start a device
    /// frame (version nibble 1 or 2), so a receiver tells a piece from a frame before parsing either.
    /// Gateway → lights: offer and chunk pieces and cancel (release tag only: what they act on is signed by the release key),
    /// activate and trial accepted (one light each, tagged with its key). Light → gateway: its state report, tagged with its key.
    /// </summary>
    public static class CarouselPiece
    {
        public const byte Marker = 0xC0;
        public const byte OfferKind = 1;
        public const byte ChunkKind = 2;
        public const byte ActivateKind = 3;
        public const byte CancelKind = 4;
        public const byte TrialAcceptedKind = 5;
        public const byte ReportKind = 8;

        /// <summary>The largest piece: a flagless advertisement's 31 bytes less the manufacturer data header.</summary>
        public const int MaxLength = 27;

        /// <summary>First bytes of the release id that name the carousel's release in every downlink piece.</summary>
        public const int ReleaseTagLength = 4;

        public const int OfferHeaderLength = 7;
        public const int OfferDataLength = MaxLength - OfferHeaderLength;
        public const int ChunkHeaderLength = 9;
        public const int ChunkDataLength = MaxLength - ChunkHeaderLength;
        public const int ReleaseLength = 5;
        public const int LightPieceLength = 17;
        public const int ReportLength = 27;
        public const int TagLength = 8;

        /// <summary>Whether <paramref name="data"/>[offset..offset+length) is a carousel piece (by its first byte).</summary>
        public static bool IsPiece(byte[] data, int offset, int length)
        {
            return length >= 1 && (data[offset] & 0xF0) == Marker;
        }

        public static byte KindOf(byte[] data, int offset)
        {
            return (byte)(data[offset] & 0x0F);
        }

        /// <summary>Pieces of <paramref name="totalLength"/> bytes at <paramref name="perPiece"/> bytes each.</summary>
        public static int PieceCount(int totalLength, int perPiece)
        {
            return (totalLength + perPiece - 1) / perPiece;
        }

        /// <summary>Offer piece: kind · release tag (4) · piece index (2) · up to 20 bytes of the offer message (§11.5, type 1).</summary>
        public static int WriteOffer(byte[] releaseId, int index, byte[] offer, byte[] output, int offset)
        {
            int start = index * OfferDataLength;
            int count = offer.Length - start;
            if (count > OfferDataLength)
            {
                count = OfferDataLength;
            }

            Header(OfferKind, releaseId, output, offset);
            BigEndian.WriteUInt16(output, offset + 5, (ushort)index);
            System.Array.Copy(offer, start, output, offset + OfferHeaderLength, count);
            return OfferHeaderLength + count;
        }

        /// <summary>Chunk piece: kind · release tag (4) · chunk index (2) · piece index in the chunk (2) · up to 18 bytes of the chunk.</summary>
        public static int WriteChunk(byte[] releaseId, int chunkIndex, int pieceIndex, byte[] chunk, byte[] output, int offset)
        {
            int start = pieceIndex * ChunkDataLength;
            int count = chunk.Length - start;
            if (count > ChunkDataLength)
            {
                count = ChunkDataLength;
            }

            Header(ChunkKind, releaseId, output, offset);
            BigEndian.WriteUInt16(output, offset + 5, (ushort)chunkIndex);
            BigEndian.WriteUInt16(output, offset + 7, (ushort)pieceIndex);
            System.Array.Copy(chunk, start, output, offset + ChunkHeaderLength, count);
            return ChunkHeaderLength + count;
        }

        /// <summary>Cancel: kind · release tag (4).</summary>
        public static int WriteCancel(byte[] releaseId, byte[] output, int offset)
        {
            Header(CancelKind, releaseId, output, offset);
            return ReleaseLength;
        }

        /// <summary>
        /// Activate or trial accepted, for one light: kind · release tag (4) · light id (4) · tag (8) under the light's key.
        /// </summary>
        public static int WriteForLight(byte kind, byte[] releaseId, uint lightId, byte[] key, IHmacSha256 mac, byte[] output, int offset)
        {
            Header(kind, releaseId, output, offset);
            BigEndian.WriteUInt32(output, offset + 5, lightId);
            Sign(key, mac, output, offset, 9);
            return LightPieceLength;
        }

        /// <summary>
        /// A light's state report: kind · light id (4) · counter (4) · state (1) · reason (1) · chunks done (2) · running
        /// version (6) · tag (8) under the light's key.
        /// </summary>
        public static int WriteReport(
            uint lightId, uint counter, byte state, byte reason, int chunksDone, ReleaseVersion running, byte[] key, IHmacSha256 mac, byte[] output, int offset)
        {
            output[offset] = Marker | ReportKind;
            BigEndian.WriteUInt32(output, offset + 1, lightId);
            BigEndian.WriteUInt32(output, offset + 5, counter);
            output[offset + 9] = state;
            output[offset + 10] = reason;
            BigEndian.WriteUInt16(output, offset + 11, (ushort)chunksDone);
            running.Write(output, offset + 13);
            Sign(key, mac, output, offset, 19);
            return ReportLength;
        }

        /// <summary>Whether the piece names the release whose id is <paramref name="releaseId"/>.</summary>
        public static bool NamesRelease(byte[] data, int offset, byte[] releaseId)
        {
            for (int i = 0; i < ReleaseTagLength; i++)
            {
                if (data[offset + 1 + i] != releaseId[i])
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>
        /// Checks the 8-byte tag that ends a signed piece of <paramref name="length"/> bytes (activate, trial accepted, report) in
        /// constant time.
        /// </summary>
        public static bool HasValidTag(byte[] data, int offset, int length, byte[] key, IHmacSha256 mac)
        {
            if (key == null || length <= TagLength)
            {
                return false;
            }

            var full = new byte[32];
            mac.Compute(key, data, offset, length - TagLength, full);
            int difference = 0;
            for (int i = 0; i < TagLength; i++)
            {
                difference |= full[i] ^ data[offset + length - TagLength + i];
            }

            return difference == 0;
        }

        private static void Header(byte kind, byte[] releaseId, byte[] output, int offset)
        {
            output[offset] = (byte)(Marker | kind);
            System.Array.Copy(releaseId, 0, output, offset + 1, ReleaseTagLength);
        }

        private static void Sign(byte[] key, IHmacSha256 mac, byte[] output, int offset, int signedLength)
        {
            var full = new byte[32];
            mac.Compute(key, output, offset, signedLength, full);
            System.Array.Copy(full, 0, output, offset + signedLength, TagLength);
        }
    }
}
