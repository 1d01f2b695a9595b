using System.Reflection;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Adapters
{
    /// <summary>
    /// Loads a slot's <c>.pe</c> files with nanoFramework's <c>Assembly.Load(byte[])</c> (CoreLibrary,
    /// System/Reflection/Assembly.cs) in manifest order and calls the entry type's static <c>Main()</c>.
    /// Device only: on the host a slot's image is not nanoFramework code (firmware/README.md, Firmware updates).
    /// </summary>
    public sealed class AssemblyStarter : IApplicationStarter
    {
        public void Start(byte[][] assemblies, string entry)
        {
            System.Type? type = null;
            for (int i = 0; i < assemblies.Length; i++)
            {
                Assembly assembly = Assembly.Load(assemblies[i]);
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
