using System.Security.Cryptography;
using System.Text;

namespace Anshimi.Gateway.Provisioning;

/// <summary>
/// The installer API's bearer token: 32 random bytes in hex, in a file only the gateway's user (root
/// on the Pi) can read, created at first start. Whoever can read it may change the registry.
/// </summary>
public sealed class AdminToken
{
    private readonly byte[] _token;

    public AdminToken(string path)
    {
        Path = path;
        string? directory = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        if (!File.Exists(path))
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            try
            {
                using var stream = new FileStream(path, options);
                stream.Write(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)) + "\n"));
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another start created it first; use theirs.
            }
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new InvalidOperationException("admin token file " + path + " must be readable by its owner only (chmod 600)");
        }

        _token = Encoding.ASCII.GetBytes(File.ReadAllText(path).Trim());
        if (_token.Length < 32)
        {
            throw new InvalidOperationException("admin token file " + path + " holds no usable token");
        }
    }

    public string Path { get; }

    /// <summary>Constant-time check of an <c>Authorization: Bearer …</c> header value.</summary>
    public bool Accepts(string? authorization)
    {
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(authorization[Scheme.Length..].Trim()), _token);
    }
}
