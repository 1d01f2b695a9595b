namespace Anshimi.Hardware.Tests;

/// <summary>One broken rule: its id (stable, used by the tests) and a message naming the signal, pin or row.</summary>
public sealed record Violation(string Rule, string Message)
{
    public override string ToString() => Rule + ": " + Message;
}
