namespace Anshimi.Gateway.Outputs;

/// <summary>One output line of the gateway box (siren relay, strobe, status LED), requested for exclusive use.</summary>
public interface IGpioOutputLine : IDisposable
{
    /// <summary>Drives the line: true for the active level (the line's active-low flag is applied by the driver).</summary>
    void Write(bool active);
}

/// <summary>Opens output lines on a GPIO chip: libgpiod on the Pi, a simulation in tests and the demo.</summary>
public interface IGpioOutputs
{
    /// <summary>Requests <paramref name="line"/> of <paramref name="chip"/> as an output, initially inactive.</summary>
    /// <exception cref="GpioException">The chip or line cannot be opened or requested.</exception>
    IGpioOutputLine Open(string chip, int line, bool activeLow, string consumer);
}

/// <summary>A GPIO chip or line could not be used; the message names which and why.</summary>
public sealed class GpioException(string message) : Exception(message);
