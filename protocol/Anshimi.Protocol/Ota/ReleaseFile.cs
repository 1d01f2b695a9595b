namespace Anshimi.Protocol.Ota
{
    /// <summary>
    /// The release file (protocol/README.md §11.2): <c>AREL</c>, format, manifest, its Ed25519 signature and the image.
    /// Only the layout is read here; whether the signature verifies and the image matches the manifest is the verifier's.
    /// </summary>
    public sealed class ReleaseFile
    {
        public const byte Format = 1;
        public const int SignatureLength = 64;
        public const int HeaderLength = 9;

        private static readonly byte[] Magic = { 0x41, 0x52, 0x45, 0x4C };

        public ReleaseFile(byte[] manifestBytes, byte[] signature, byte[] image)
        {
            ManifestBytes = manifestBytes;
            Signature = signature;
            Image = image;
        }

        /// <summary>The manifest exactly as signed.</summary>
        public byte[] ManifestBytes { get; }

        public byte[] Signature { get; }

        public byte[] Image { get; }

        /// <summary>The parts of a release file, or null when its layout is wrong (the manifest itself is not checked here).</summary>
        public static ReleaseFile? Read(byte[] data)
        {
            if (data == null || data.Length < HeaderLength + ReleaseManifest.MinLength + SignatureLength + 1)
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

            uint manifestLength = BigEndian.ReadUInt32(data, 5);
            if (data[4] != Format || manifestLength < ReleaseManifest.MinLength || manifestLength > ReleaseManifest.MaxLength ||
                HeaderLength + manifestLength + SignatureLength >= (uint)data.Length)
            {
                return null;
            }

            int m = (int)manifestLength;
            var manifest = new byte[m];
            var signature = new byte[SignatureLength];
            var image = new byte[data.Length - HeaderLength - m - SignatureLength];
            System.Array.Copy(data, HeaderLength, manifest, 0, m);
            System.Array.Copy(data, HeaderLength + m, signature, 0, SignatureLength);
            System.Array.Copy(data, HeaderLength + m + SignatureLength, image, 0, image.Length);
            return new ReleaseFile(manifest, signature, image);
        }

        public byte[] Encode()
        {
            var data = new byte[HeaderLength + ManifestBytes.Length + SignatureLength + Image.Length];
            System.Array.Copy(Magic, 0, data, 0, Magic.Length);
            data[4] = Format;
            BigEndian.WriteUInt32(data, 5, (uint)ManifestBytes.Length);
            System.Array.Copy(ManifestBytes, 0, data, HeaderLength, ManifestBytes.Length);
            System.Array.Copy(Signature, 0, data, HeaderLength + ManifestBytes.Length, SignatureLength);
            System.Array.Copy(Image, 0, data, HeaderLength + ManifestBytes.Length + SignatureLength, Image.Length);
            return data;
        }
    }
}
