namespace Anshimi.Gateway.Outputs;

/// <summary>A GPIO chip or line could not be used; the message names which and why.</summary>
public sealed class GpioException(string message, Exception? inner = null) : Exception(message, inner);
