namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// Loads a slot's assemblies and runs its entry (protocol/README.md §11.3 step 4). On the device:
    /// <c>Assembly.Load(byte[])</c> for each <c>.pe</c> in manifest order, then the entry type's static <c>Main()</c>.
    /// </summary>
    public interface IApplicationStarter
    {
        /// <summary>Returns when the application ends; throws what the application throws (a crash).</summary>
        void Start(byte[][] assemblies, string entry);
    }
}
