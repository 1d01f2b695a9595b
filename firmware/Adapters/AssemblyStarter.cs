using System.Reflection;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Adapters
{
    /// <summary>
    /// Loads a slot's <c>.pe</c> files with nanoFramework's <c>Assembly.Load(byte[])</c> in manifest order and calls the
    /// entry type's static <c>Main()</c> on the loader's own thread (firmware/README.md, "nanoFramework API calls").
    /// The runtime keeps each image's bytes as the assembly itself, so nothing here holds them. Device only: on the host
    /// a slot's image is not nanoFramework code (firmware/README.md, Firmware updates).
    /// </summary>
    public sealed class AssemblyStarter : IApplicationStarter
    {
        public void Start(byte[][] assemblies, string entry)
        {
            System.Type? type = null;
            for (int i = 0; i < assemblies.Length; i++)
            {
                // The native Load answers null, not an exception, when the image's header does not check.
                Assembly? assembly = Assembly.Load(assemblies[i]);
                if (assembly == null)
                {
                    throw new System.ArgumentException("not a nanoFramework assembly: number " + i + " of the slot");
                }

                System.Type? found = assembly.GetType(entry);
                if (found != null)
                {
                    type = found;
                }
            }

            if (type == null)
            {
                throw new System.ArgumentException("entry type not in the slot: " + entry);
            }

            MethodInfo? main = type.GetMethod("Main", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);
            if (main == null)
            {
                throw new System.ArgumentException("entry type has no static Main: " + entry);
            }

            main.Invoke(null, null);
        }
    }
}
