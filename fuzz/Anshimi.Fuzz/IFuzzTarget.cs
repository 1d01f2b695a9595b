namespace Anshimi.Fuzz;

/// <summary>
/// One decoder that takes bytes or text from outside, driven the way its callers drive it. <see cref="Run"/>
/// returns when the decoder gave a typed outcome (or threw only what it documents); anything else escapes
/// and is a crash to afl-fuzz and a failure to the corpus tests.
/// </summary>
public interface IFuzzTarget
{
    void Run(byte[] input);
}

/// <summary>A decoder broke its own contract: the outcome contradicts itself or the input.</summary>
public sealed class FuzzInvariantException(string message) : Exception(message)
{
    public static void Expect(bool condition, string contract)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(contract);
        }
    }
}
