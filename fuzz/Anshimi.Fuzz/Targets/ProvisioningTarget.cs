using System.Text;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using static Anshimi.Fuzz.FuzzInvariantException;

namespace Anshimi.Fuzz.Targets;

/// <summary>
/// Provisioning (protocol/README.md §9): a hello as the gateway receives it, a credentials message and the sealed
/// credentials layout as a device receives them, and the claim code as an installer types it.
/// </summary>
public sealed class ProvisioningTarget : IFuzzTarget
{
    private static readonly byte[] HelloKey = new byte[32];

    private readonly ProvisioningCodec _codec = new(new PlatformHmacSha256());

    public void Run(byte[] input)
    {
        if (ProvisioningCodec.ReadHello(input) is { } hello)
        {
            Expect(hello.Nonce.Length == ProvisioningCodec.NonceLength, "a hello's nonce is 16 bytes");
            Expect(ProvisioningText.IsValid(hello.Profile, ProvisioningCodec.MaxTextLength) && ProvisioningText.IsValid(hello.FirmwareVersion, ProvisioningCodec.MaxTextLength),
                "a hello's texts are short printable ASCII");
            byte[] again = _codec.EncodeHello(hello, HelloKey);
            int signed = input.Length - ProvisioningCodec.HelloTagLength;
            Expect(again.Length == input.Length && again.AsSpan(0, signed).SequenceEqual(input.AsSpan(0, signed)), "a read hello re-encodes to its bytes");
        }

        _ = _codec.HasValidHelloTag(input, HelloKey);

        if (ProvisioningCodec.ReadCredentials(input) is { } credentials)
        {
            byte[] joined = ProvisioningCodec.JoinCredentials(credentials.Header, credentials.Ciphertext, credentials.Tag);
            Expect(joined.AsSpan().SequenceEqual(input), "a read credentials message is its header, cipher text and tag");
            Expect(ProvisioningCodec.EncodeCredentialsHeader(credentials.DeviceId, credentials.DeviceNonce, credentials.EphemeralPublicKey, credentials.CipherNonce, credentials.Ciphertext.Length)
                .AsSpan().SequenceEqual(credentials.Header), "a read credentials header re-encodes to its bytes");
        }

        if (DeviceCredentials.Parse(input) is { } parsed)
        {
            Expect(parsed.ToBytes().AsSpan().SequenceEqual(input), "parsed credentials re-encode to their bytes");
        }

        string typed = Encoding.UTF8.GetString(input);
        string? code = ClaimCode.Normalize(typed, out string problem);
        Expect(code is null ? problem.Length > 0 : code.Length == ClaimCode.Length && ClaimCode.Normalize(ClaimCode.Format(code), out _) == code,
            "a claim code normalizes to 16 characters that survive formatting, or names its problem");
    }
}
