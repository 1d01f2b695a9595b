using System.Security.Cryptography;
using Anshimi.Protocol.Security;

namespace Anshimi.Protocol.Upstream;

/// <summary>The platform's HMAC-SHA256 for hosts (gateway, cloud bridge, simulator); allocation-free.</summary>
public sealed class PlatformHmacSha256 : IHmacSha256
{
    public void Compute(byte[] key, byte[] data, int offset, int count, byte[] output) =>
        HMACSHA256.HashData(key, data.AsSpan(offset, count), output);
}
