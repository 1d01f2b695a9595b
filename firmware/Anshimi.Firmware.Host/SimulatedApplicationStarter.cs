using System.Text;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>How a simulated slot image behaves once started (its <c>behaviour:</c> line).</summary>
public enum SimulatedImageBehaviour
{
    /// <summary>Connects and heartbeats: the trial is accepted.</summary>
    Normal,

    /// <summary>Throws at start, as an image that faults before it connects.</summary>
    Crash,

    /// <summary>Starts but never connects: the trial runs out of time.</summary>
    Silent,
}

/// <summary>Thrown by a simulated image that crashes at start; the host treats it as a reset.</summary>
public sealed class SimulatedCrashException(string entry) : Exception("the image of " + entry + " crashed at start");

/// <summary>
/// Stands in for <c>Assembly.Load</c> on the host: a slot's files are real and checked by the real loader, but its
/// <c>.pe</c> bytes are not nanoFramework code. The first assembly is read as text; a line <c>behaviour: crash</c> or
/// <c>behaviour: silent</c> makes the image fail that way, anything else runs the simulator's own device logic.
/// </summary>
public sealed class SimulatedApplicationStarter : IApplicationStarter
{
    public SimulatedImageBehaviour Behaviour { get; private set; }

    public string? Entry { get; private set; }

    /// <summary>The bytes of a simulated image whose first assembly makes it behave so.</summary>
    public static byte[] ImageText(string name, SimulatedImageBehaviour behaviour, int padTo) =>
        Encoding.ASCII.GetBytes(("anshimi simulated application " + name + "\nbehaviour: " + behaviour.ToString().ToLowerInvariant() + "\n").PadRight(padTo, '.'));

    public void Start(byte[][] assemblies, string entry)
    {
        ArgumentNullException.ThrowIfNull(assemblies);
        Entry = entry;
        string text = assemblies.Length == 0 ? string.Empty : Encoding.ASCII.GetString(assemblies[0]);
        Behaviour = text.Contains("behaviour: crash", StringComparison.Ordinal) ? SimulatedImageBehaviour.Crash
            : text.Contains("behaviour: silent", StringComparison.Ordinal) ? SimulatedImageBehaviour.Silent
            : SimulatedImageBehaviour.Normal;
        if (Behaviour == SimulatedImageBehaviour.Crash)
        {
            throw new SimulatedCrashException(entry);
        }
    }
}
