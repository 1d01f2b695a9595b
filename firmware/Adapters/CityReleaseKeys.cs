using Anshimi.Firmware.Ota;

namespace Anshimi.Firmware.Adapters
{
    /// <summary>
    /// The release public keys compiled into the loader and into every application (protocol/README.md §11.2): the
    /// 32 bytes of each <c>.pub</c> that <c>anshimi-release keygen</c> wrote, a successor key beside the old one while
    /// both are in use. The city's release officer puts them here before the firmware an installer deploys is built;
    /// the repository holds none, and a firmware built so trusts no release: its loader stays in safe mode and its
    /// applications refuse every offer (<c>unknown_key</c>), which is safe, never silently open.
    /// </summary>
    public static class CityReleaseKeys
    {
        private static readonly byte[][] PublicKeys = new byte[][]
        {
        };

        public static ReleaseKeys Trusted()
        {
            return new ReleaseKeys(PublicKeys);
        }
    }
}
