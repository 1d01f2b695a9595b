using System.Globalization;
using System.Security.Cryptography;
using Anshimi.Protocol.Ota;
using NSec.Cryptography;

namespace Anshimi.Protocol.Releases;

/// <summary>
/// The city's Ed25519 release key (protocol/README.md §11.2). The private half lives in a file its officer keeps
/// offline: one line, the 32-byte seed as hex, written readable by its owner only. The public half (32 bytes, hex) goes
/// into the devices' loaders and the cloud's <c>Firmware:ReleaseKeys</c>.
/// </summary>
public sealed class ReleaseKey : IDisposable
{
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;
    private readonly Key _key;

    private ReleaseKey(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>The 32-byte public key.</summary>
    public byte[] PublicKey { get; }

    /// <summary>The key id a manifest carries: the first 8 bytes of SHA-256 over the public key.</summary>
    public byte[] KeyId => KeyIdOf(PublicKey);

    public static ReleaseKey Generate() =>
        new(Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>Reads a private key file written by <see cref="WritePrivateKeyFile"/>.</summary>
    /// <exception cref="ReleaseKeyException">The file does not hold a 32-byte hex seed.</exception>
    public static ReleaseKey FromPrivateKeyFile(string path)
    {
        string text = File.ReadAllText(path).Trim();
        byte[] seed;
        try
        {
            seed = Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            throw new ReleaseKeyException("the release key file does not hold hex: " + path);
        }

        if (seed.Length != 32)
        {
            throw new ReleaseKeyException("the release key file must hold a 32-byte Ed25519 seed: " + path);
        }

        try
        {
            return new ReleaseKey(Key.Import(Algorithm, seed, KeyBlobFormat.RawPrivateKey,
                new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>The key id of a 32-byte public key.</summary>
    public static byte[] KeyIdOf(byte[] publicKey) => SHA256.HashData(publicKey)[..ReleaseManifest.KeyIdLength];

    /// <summary>A 32-byte public key from 64 hex digits, or null.</summary>
    public static byte[]? ParsePublicKey(string? hex)
    {
        if (hex is null || hex.Length != 64 || !hex.All(Uri.IsHexDigit))
        {
            return null;
        }

        return Convert.FromHexString(hex);
    }

    /// <summary>Writes the seed as hex to a new file that only its owner may read; refuses to overwrite a key.</summary>
    public void WritePrivateKeyFile(string path)
    {
        byte[] seed = _key.Export(KeyBlobFormat.RawPrivateKey);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var stream = new FileStream(path, options);
            using var writer = new StreamWriter(stream);
            writer.WriteLine(Convert.ToHexString(seed).ToLower(CultureInfo.InvariantCulture));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    public byte[] Sign(byte[] data) => Algorithm.Sign(_key, data);

    /// <summary>True when <paramref name="signature"/> is this public key's Ed25519 signature over <paramref name="data"/>.</summary>
    public static bool Verifies(byte[] publicKey, byte[] data, byte[] signature)
    {
        if (signature.Length != ReleaseFile.SignatureLength ||
            !NSec.Cryptography.PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out NSec.Cryptography.PublicKey? key) || key is null)
        {
            return false;
        }

        return Algorithm.Verify(key, data, signature);
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>A release key file that cannot be used.</summary>
public sealed class ReleaseKeyException(string message) : Exception(message);
