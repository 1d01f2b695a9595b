using System.Text;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>
/// Mosquitto password and ACL files for a fleet: each device (user = its id) may only publish to its
/// own uplink and status topics and read its own downlink; the gateway and cloud services get only
/// the topics their role needs.
/// </summary>
public static class BrokerAuth
{
    public static string PasswdText(FleetFile fleet, IReadOnlyList<ServiceUser> services)
    {
        var text = new StringBuilder();
        // Streetlights speak BLE only: they get no broker account.
        foreach (DeviceRecord device in fleet.Devices.Where(d => d.Profile != StreetlightFleet.Profile))
        {
            text.Append(device.DeviceId).Append(':').Append(device.MqttPassword).Append('\n');
        }

        foreach (ServiceUser service in services)
        {
            text.Append(service.Name).Append(':').Append(service.Password).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>
    /// The ACL: each device only its own topics; the gateway service only what relaying needs
    /// (device uplinks and status in, device downlinks out, its own upstream topics, unclaimed
    /// devices' hellos in and their sealed credentials out); the cloud
    /// service only gateway events and status in and gateway commands out.
    /// </summary>
    public static string AclText(string gatewayId, IReadOnlyList<ServiceUser> services)
    {
        string d = Topics.Root + "/d/";
        var text = new StringBuilder();
        text.Append("# devices: %u is the device id, so each one reaches only its own topics\n");
        text.Append("pattern write ").Append(d).Append("%u/up\n");
        text.Append("pattern write ").Append(d).Append("%u/status\n");
        text.Append("pattern read ").Append(d).Append("%u/down\n");
        foreach (ServiceUser service in services)
        {
            text.Append('\n').Append("user ").Append(service.Name).Append('\n');
            string[] rules = service.Role == ServiceRole.Gateway
                ? [
                    "read " + d + "+/up",
                    "read " + d + "+/status",
                    "write " + d + "+/down",
                    "write " + Topics.GatewayEvents(gatewayId),
                    "write " + Topics.GatewayStatus(gatewayId),
                    "read " + Topics.GatewayCommands(gatewayId),
                    "read " + Topics.AllProvisioningHellos,
                    "write " + Topics.Root + "/prov/+/creds",
                ]
                : [
                    "read " + Topics.GatewayEvents("+"),
                    "read " + Topics.GatewayStatus("+"),
                    "write " + Topics.GatewayCommands("+"),
                ];
            foreach (string rule in rules)
            {
                text.Append("topic ").Append(rule).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>Writes <c>passwd</c> (plaintext, for <c>mosquitto_passwd -U</c>) and <c>acl</c>, both 0600.</summary>
    public static void Write(FleetFile fleet, IReadOnlyList<ServiceUser> services, string directory)
    {
        Directory.CreateDirectory(directory);
        WritePrivate(Path.Combine(directory, "passwd"), PasswdText(fleet, services));
        WritePrivate(Path.Combine(directory, "acl"), AclText(fleet.GatewayId, services));
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

/// <summary>What a back-end account may do on the broker; given by its name's prefix.</summary>
public enum ServiceRole
{
    Gateway,
    Cloud,
}

/// <summary>A back-end account on the broker, given as <c>name:password</c>; names start with "gateway" or "cloud".</summary>
public sealed record ServiceUser(string Name, string Password)
{
    public ServiceRole Role => Name.StartsWith("gateway", StringComparison.Ordinal) ? ServiceRole.Gateway : ServiceRole.Cloud;

    public static ServiceUser Parse(string text)
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

        if (!name.StartsWith("gateway", StringComparison.Ordinal) && !name.StartsWith("cloud", StringComparison.Ordinal))
        {
            // The prefix also keeps service names apart from device ids, which are hex digits only.
            throw new FormatException("--service name must start with \"gateway\" or \"cloud\" (its role on the broker): " + name);
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
