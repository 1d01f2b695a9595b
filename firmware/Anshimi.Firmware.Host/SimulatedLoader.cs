using System.Runtime.ExceptionServices;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol.Ota;

namespace Anshimi.Firmware.Host;

/// <summary>
/// What the factory and the chip do around the real <see cref="SlotLoader"/> of a simulated device: the factory's USB
/// deploy of a first release into slot a, and boots that start the slot's image until one does not crash.
/// </summary>
public static class SimulatedLoader
{
    /// <summary>Puts <paramref name="releaseFile"/> into slot a of a factory-fresh device (files, then the loader record).</summary>
    /// <exception cref="FormatException">The file is not a release.</exception>
    public static void InstallFactory(byte[] releaseFile, IFirmwareFiles files, IDeviceStorage records)
    {
        ReleaseFile release = ReleaseFile.Read(releaseFile) ?? throw new FormatException("the factory release is not a release file");
        ReleaseManifest manifest = ReleaseManifest.Read(release.ManifestBytes) ?? throw new FormatException("the factory release's manifest is malformed");
        int position = 0;
        for (int i = 0; i < manifest.AssemblyNames.Length; i++)
        {
            files.Write(SlotLoader.PathOf('a', manifest.AssemblyNames[i]), release.Image[position..(position + manifest.AssemblyLengths[i])]);
            position += manifest.AssemblyLengths[i];
        }

        files.Write(SlotLoader.PathOf('a', SlotLoader.SignatureFile), release.Signature);
        files.Write(SlotLoader.PathOf('a', SlotLoader.ManifestFile), release.ManifestBytes);
        new LoaderRecord
        {
            ActiveVersion = manifest.Version,
            ActiveReleaseId = ReleaseManifest.ReleaseIdOf(release.ManifestBytes, new Protocol.Security.Sha256()),
        }.Write(records);
    }

    /// <summary>Whether the device has never had a release: no loader record and nothing in slot a.</summary>
    public static bool IsFactoryFresh(IFirmwareFiles files, IDeviceStorage records) =>
        records.Read(LoaderRecord.Name) is null && files.Read(SlotLoader.PathOf('a', SlotLoader.ManifestFile)) is null;

    /// <summary>
    /// Boots with the device's own <see cref="LoaderBoot"/> until the active slot's image starts: a crashing image
    /// resets the chip at once (where the loader app calls <c>Power.RebootDevice</c>), and the loader counts each such
    /// boot against the trial, so it falls back after its trial boots. Returns the boot as the started application reads
    /// it (<see cref="SlotLoader.ReadRunning"/>), or the loader's own in safe mode.
    /// </summary>
    /// <exception cref="SimulatedCrashException">The image crashes at every boot and there is nothing to fall back to.</exception>
    public static BootResult Boot(LoaderBoot loader)
    {
        ArgumentNullException.ThrowIfNull(loader);
        for (int boot = 0; ; boot++)
        {
            BootResult result = loader.Run();
            if (result.SafeMode)
            {
                return result;
            }

            if (loader.StartFailure is null)
            {
                return loader.Loader.ReadRunning();
            }

            if (loader.StartFailure is not SimulatedCrashException || boot >= 2 * LoaderRecord.MaxTrialBoots)
            {
                ExceptionDispatchInfo.Throw(loader.StartFailure);
            }
        }
    }
}
