using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Ota
{
    /// <summary>
    /// The release public keys compiled into the loader (protocol/README.md §11.2), and the check of a manifest's
    /// signature against them with the portable Ed25519. Not thread-safe: one per loader.
    /// </summary>
    public sealed class ReleaseKeys
    {
        private readonly byte[][] _keys;
        private readonly byte[][] _keyIds;
        private readonly Ed25519 _ed25519 = new Ed25519();

        public ReleaseKeys(byte[][] publicKeys)
        {
            _keys = publicKeys;
            _keyIds = new byte[publicKeys.Length][];
            var sha = new Sha256();
            var hash = new byte[Sha256.HashLength];
            for (int i = 0; i < publicKeys.Length; i++)
            {
                sha.Update(publicKeys[i], 0, publicKeys[i].Length);
                sha.Final(hash, 0);
                _keyIds[i] = new byte[ReleaseManifest.KeyIdLength];
                System.Array.Copy(hash, 0, _keyIds[i], 0, ReleaseManifest.KeyIdLength);
            }
        }

        /// <summary><see cref="UpdateReason.None"/> when the manifest is signed by a trusted key, else the 10.5 reason.</summary>
        public byte Check(ReleaseManifest? manifest, byte[] manifestBytes, byte[]? signature)
        {
            if (manifest == null)
            {
                return UpdateReason.BadManifest;
            }

            for (int i = 0; i < _keys.Length; i++)
            {
                if (ProvisioningCodec.SameBytes(_keyIds[i], manifest.KeyId))
                {
                    return signature != null && signature.Length == Ed25519.SignatureLength &&
                        _ed25519.Verify(_keys[i], 0, manifestBytes, 0, manifestBytes.Length, signature, 0)
                        ? UpdateReason.None
                        : UpdateReason.BadSignature;
                }
            }

            return UpdateReason.UnknownKey;
        }
    }
}
