using Anshimi.Protocol.Upstream;
using static Anshimi.Fuzz.FuzzInvariantException;

namespace Anshimi.Fuzz.Targets;

/// <summary>
/// A JSON envelope between gateway and cloud bridge (protocol/README.md §5), as either side receives it from the
/// broker: parsed, and when accepted, serialized and parsed again to the same text.
/// </summary>
public sealed class EnvelopeTarget : IFuzzTarget
{
    public void Run(byte[] input)
    {
        bool ok = EnvelopeSerializer.TryParse(input, out Envelope? envelope, out string error);
        Expect(ok == (envelope is not null) && ok == (error.Length == 0), "TryParse gives an envelope or an error");
        if (envelope is null)
        {
            return;
        }

        Expect(envelope is not LightCommandEnvelope command || command.Lights.All(l => l is not null), "a light command names every light");
        byte[] text = EnvelopeSerializer.Serialize(envelope);
        if (text.Length <= EnvelopeSerializer.MaxEnvelopeBytes)
        {
            Expect(EnvelopeSerializer.TryParse(text, out Envelope? again, out _) && EnvelopeSerializer.Serialize(again!).AsSpan().SequenceEqual(text),
                "an accepted envelope survives serializing and parsing again");
        }
    }
}
