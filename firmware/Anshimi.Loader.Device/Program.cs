using System.Diagnostics;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Ota;
using nanoFramework.Runtime.Native;

namespace Anshimi.Loader.Device
{
    /// <summary>
    /// The fixed loader every board is deployed with (protocol/README.md §11.3): boots the active application slot on the
    /// flash drive and starts it; a start that throws, or an application whose loop ends, resets the chip, which counts
    /// against a trial; with no slot that loads it runs <see cref="SafeMode"/>. Everything it decides is in
    /// <see cref="LoaderBoot"/>.
    /// </summary>
    public static class Program
    {
        public static void Main()
        {
            var records = new FlashStorage(FlashDrive.Directory);
            var files = new FlashFiles(FlashDrive.Directory, FlashDrive.Bytes);
            ReleaseKeys keys = CityReleaseKeys.Trusted();
            var boot = new LoaderBoot(records, files, keys, new AssemblyStarter());
            BootResult result = boot.Run();
            if (!result.SafeMode)
            {
                Debug.WriteLine("anshimi loader: the application ended: " + (boot.StartFailure == null ? "returned" : boot.StartFailure.Message));
                Power.RebootDevice();
            }

            SafeMode.Run(result, boot.Loader, keys, records, files);
        }
    }
}
