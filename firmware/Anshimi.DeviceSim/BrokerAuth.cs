using System.Text;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>
/// Mosquitto password and ACL files for a fleet: each device (user = its id) may only publish to its
/// own uplink and status topics and read its own downlink; service users get the whole tree.
/// </summary>
public static class BrokerAuth
{
    public static string PasswdText(FleetFile fleet, IReadOnlyList<ServiceUser> services)
    {
        var text = new StringBuilder();
        foreach (DeviceRecord device in fleet.Devices)
        {
            text.Append(device.DeviceId).Append(':').Append(device.MqttPassword).Append('\n');
        }

        foreach (ServiceUser service in services)
        {
            text.Append(service.Name).Append(':').Append(service.Password).Append('\n');
        }

        return text.ToString();
    }

    public static string AclText(IReadOnlyList<ServiceUser> services)
    {
        var text = new StringBuilder();
        text.Append("# devices: %u is the device id, so each one reaches only its own topics\n");
        text.Append("pattern write ").Append(Topics.Root).Append("/d/%u/up\n");
        text.Append("pattern write ").Append(Topics.Root).Append("/d/%u/status\n");
        text.Append("pattern read ").Append(Topics.Root).Append("/d/%u/down\n");
        foreach (ServiceUser service in services)
        {
            text.Append('\n').Append("user ").Append(service.Name).Append('\n');
            text.Append("topic readwrite ").Append(Topics.Root).Append("/#\n");
        }

        return text.ToString();
    }

    /// <summary>Writes <c>passwd</c> (plaintext, for <c>mosquitto_passwd -U</c>) and <c>acl</c>, both 0600.</summary>
    public static void Write(FleetFile fleet, IReadOnlyList<ServiceUser> services, string directory)
    {
        Directory.CreateDirectory(directory);
        WritePrivate(Path.Combine(directory, "passwd"), PasswdText(fleet, services));
        WritePrivate(Path.Combine(directory, "acl"), AclText(services));
    }

    private static void WritePrivate(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        {
            stream.Write(new UTF8Encoding(false).GetBytes(text));
        }

        // An existing file keeps its old mode on open, so tighten it explicitly.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}

/// <summary>A back-end account on the broker (gateway, cloud bridge), given as <c>name:password</c>.</summary>
public sealed record ServiceUser(string Name, string Password)
{
    public static ServiceUser Parse(string text, FleetFile fleet)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new FormatException("--service must be name:password with both parts non-empty: " + Redact(text));
        }

        string name = text[..colon];
        string password = text[(colon + 1)..];
        if (name.Any(c => char.IsWhiteSpace(c) || c == '#' || c == '+' || c == '/') || password.Any(char.IsControl))
        {
            throw new FormatException("--service name may not contain spaces, '#', '+' or '/', nor the password control characters: " + name);
        }

        if (fleet.Devices.Any(d => string.Equals(d.DeviceId, name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new FormatException("--service name " + name + " is a device id");
        }

        return new ServiceUser(name, password);
    }

    /// <summary>Log-safe.</summary>
    public override string ToString() => Name;

    private static string Redact(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? text : text[..colon] + ":***";
    }
}
