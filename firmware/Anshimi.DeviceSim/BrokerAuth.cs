using System.Text;
using System.Text.Json.Nodes;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>
/// A fleet's broker accounts, as Mosquitto password and ACL files or as dynamic-security commands
/// (rules from <see cref="BrokerAccounts"/>): each device (user = its id) may only publish to its own
/// uplink and status topics and read its own downlink; the gateway and cloud services get only the
/// topics their role needs.
/// </summary>
public static class BrokerAuth
{
    public const string DynamicSecurityFile = "dynsec-commands.json";

    /// <summary>The box broker's listener lines (<see cref="BrokerListeners.SiteBroker"/>), to append to a mosquitto.conf.</summary>
    public const string ListenersFile = "listeners.conf";

    public static string PasswdText(FleetFile fleet, IReadOnlyList<ServiceUser> services)
    {
        var text = new StringBuilder();
        foreach (DeviceRecord device in BrokerDevices(fleet))
        {
            text.Append(device.DeviceId).Append(':').Append(device.MqttPassword).Append('\n');
        }

        foreach (ServiceUser service in services)
        {
            text.Append(service.Name).Append(':').Append(service.Password).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The ACL file form of <see cref="BrokerAccounts"/>: devices by pattern (%u is the device id), services by name.</summary>
    public static string AclText(string gatewayId, IReadOnlyList<ServiceUser> services)
    {
        var text = new StringBuilder();
        text.Append("# devices: %u is the device id, so each one reaches only its own topics\n");
        foreach (TopicRule rule in BrokerAccounts.Device(0))
        {
            // Device 0's topics with its id swapped for the pattern's %u.
            text.Append("pattern ").Append(AclWord(rule)).Append(' ').Append(rule.Topic.Replace(DeviceIdText.Format(0), "%u", StringComparison.Ordinal)).Append('\n');
        }

        foreach (ServiceUser service in services)
        {
            text.Append('\n').Append("user ").Append(service.Name).Append('\n');
            foreach (TopicRule rule in service.Rules(gatewayId))
            {
                text.Append("topic ").Append(AclWord(rule)).Append(' ').Append(rule.Topic).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// One dynamic-security control message (<c>{"commands":[…]}</c>) that sets the broker policy and
    /// creates every service and broker-speaking device account with its own role, for a broker
    /// started with the plugin. Send it as the plugin's admin, e.g. with <c>scripts/dynsec-apply.py</c>.
    /// </summary>
    public static JsonObject DynamicSecurityBatch(FleetFile fleet, IReadOnlyList<ServiceUser> services)
    {
        var commands = new JsonArray();
        IEnumerable<JsonObject> all = BrokerAccounts.BrokerPolicyCommands()
            .Concat(services.SelectMany(s => BrokerAccounts.CreateAccountCommands(s.Name, s.Password, BrokerAccounts.ServiceRole(s.Name), s.Rules(fleet.GatewayId))))
            .Concat(BrokerDevices(fleet).SelectMany(d => BrokerAccounts.CreateDeviceCommands(d.NumericId, d.MqttPassword)));
        foreach (JsonObject command in all)
        {
            commands.Add(command);
        }

        return new JsonObject { ["commands"] = commands };
    }

    /// <summary>
    /// Writes <c>passwd</c> (plaintext, for <c>mosquitto_passwd -U</c>) and <c>acl</c> for a broker on files, and
    /// <c>dynsec-commands.json</c> (<see cref="DynamicSecurityBatch"/>) for one on the plugin; all 0600. With
    /// <paramref name="listenersPort"/>, also <c>listeners.conf</c>: the box broker's listeners for devices on
    /// 127.0.0.1 at that port.
    /// </summary>
    public static void Write(FleetFile fleet, IReadOnlyList<ServiceUser> services, string directory, int? listenersPort = null)
    {
        Directory.CreateDirectory(directory);
        WritePrivate(Path.Combine(directory, "passwd"), PasswdText(fleet, services));
        WritePrivate(Path.Combine(directory, "acl"), AclText(fleet.GatewayId, services));
        WritePrivate(Path.Combine(directory, DynamicSecurityFile), DynamicSecurityBatch(fleet, services).ToJsonString());
        if (listenersPort is int port)
        {
            WritePrivate(Path.Combine(directory, ListenersFile), string.Join('\n', BrokerListeners.SiteBroker(new SiteBrokerListeners { Port = port })) + "\n");
        }
    }

    // Streetlights speak BLE only: they get no broker account.
    private static IEnumerable<DeviceRecord> BrokerDevices(FleetFile fleet) => fleet.Devices.Where(d => d.Profile != StreetlightFleet.Profile);

    private static string AclWord(TopicRule rule) => rule.Access == TopicAccess.Read ? "read" : "write";

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

    public IReadOnlyList<TopicRule> Rules(string gatewayId) =>
        Role == ServiceRole.Gateway ? BrokerAccounts.GatewayService(gatewayId) : BrokerAccounts.CloudService();

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
