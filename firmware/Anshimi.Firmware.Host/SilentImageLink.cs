using Anshimi.Firmware.Ota;

namespace Anshimi.Firmware.Host;

/// <summary>
/// The update link of a simulated image that starts but never comes up (<c>behaviour: silent</c>): its loop runs, so
/// the trial's clock runs out, but it never connects and nothing it says leaves the device.
/// </summary>
public sealed class SilentImageLink(IUpdateLink link) : IUpdateLink
{
    public bool IsConnected => false;

    public bool AsksForChunks => link.AsksForChunks;

    public bool Open() => false;

    public bool Send(byte[] message) => false;

    /// <summary>The link a started image uses: <paramref name="link"/> itself unless the image is silent.</summary>
    public static IUpdateLink For(SimulatedApplicationStarter starter, BootResult boot, IUpdateLink link)
    {
        ArgumentNullException.ThrowIfNull(starter);
        ArgumentNullException.ThrowIfNull(boot);
        return starter.Behaviour == SimulatedImageBehaviour.Silent && !boot.SafeMode ? new SilentImageLink(link) : link;
    }
}
