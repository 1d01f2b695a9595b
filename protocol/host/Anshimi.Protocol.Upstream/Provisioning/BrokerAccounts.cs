using System.Text.Json.Nodes;

namespace Anshimi.Protocol.Upstream.Provisioning;

/// <summary>Whether an account may receive (subscribe to) or send (publish to) a topic filter.</summary>
public enum TopicAccess
{
    Read,
    Write,
}

/// <summary>One line of an account's broker ACL.</summary>
public readonly record struct TopicRule(TopicAccess Access, string Topic);

/// <summary>
/// What each kind of broker account may touch, in one place for every form the broker is given it:
/// Mosquitto's ACL file (simulated fleets) and its dynamic-security plugin (gateway boxes, the demo).
/// A device reaches only its own topics; the gateway service only what relaying and provisioning
/// need; the cloud service only gateway events and status in and gateway commands out.
/// </summary>
public static class BrokerAccounts
{
    /// <summary>Dynamic-security role and group of factory-fresh devices, which connect anonymously.</summary>
    public const string UnclaimedRole = "anshimi-unclaimed";

    public static string DeviceRole(string deviceId) => "anshimi-device-" + deviceId;

    public static string ServiceRole(string serviceName) => "anshimi-service-" + serviceName;

    public static IReadOnlyList<TopicRule> Device(uint deviceId) =>
    [
        new(TopicAccess.Write, Topics.DeviceUplink(deviceId)),
        new(TopicAccess.Write, Topics.DeviceStatus(deviceId)),
        new(TopicAccess.Read, Topics.DeviceDownlink(deviceId)),
        new(TopicAccess.Write, Topics.DeviceUpdateUp(deviceId)),
        new(TopicAccess.Read, Topics.DeviceUpdateDown(deviceId)),
    ];

    public static IReadOnlyList<TopicRule> GatewayService(string gatewayId)
    {
        string d = Topics.Root + "/d/+/";
        return
        [
            new(TopicAccess.Read, d + "up"),
            new(TopicAccess.Read, d + "status"),
            new(TopicAccess.Write, d + "down"),
            new(TopicAccess.Read, d + "ota/up"),
            new(TopicAccess.Write, d + "ota/down"),
            new(TopicAccess.Write, Topics.GatewayEvents(gatewayId)),
            new(TopicAccess.Write, Topics.GatewayStatus(gatewayId)),
            new(TopicAccess.Read, Topics.GatewayCommands(gatewayId)),
            new(TopicAccess.Read, Topics.AllProvisioningHellos),
            new(TopicAccess.Write, Topics.Root + "/prov/+/creds"),
        ];
    }

    public static IReadOnlyList<TopicRule> CloudService() =>
    [
        new(TopicAccess.Read, Topics.GatewayEvents("+")),
        new(TopicAccess.Read, Topics.GatewayStatus("+")),
        new(TopicAccess.Write, Topics.GatewayCommands("+")),
    ];

    /// <summary>Unclaimed devices: say hello and wait for sealed credentials, nothing more.</summary>
    public static IReadOnlyList<TopicRule> Unclaimed()
    {
        string prov = Topics.Root + "/prov/+/";
        return [new(TopicAccess.Write, prov + "hello"), new(TopicAccess.Read, prov + "creds")];
    }

    /// <summary>The rules as dynamic-security ACL entries: reading needs both the subscription and the delivery allowed.</summary>
    public static JsonArray DynamicSecurityAcls(IEnumerable<TopicRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var acls = new JsonArray();
        foreach (TopicRule rule in rules)
        {
            if (rule.Access == TopicAccess.Write)
            {
                acls.Add(Allow("publishClientSend", rule.Topic));
            }
            else
            {
                acls.Add(Allow("subscribePattern", rule.Topic));
                acls.Add(Allow("publishClientReceive", rule.Topic));
            }
        }

        return acls;
    }

    /// <summary>
    /// The broker policy provisioning relies on: a client receives only what a role grants it (the
    /// plugin's default would deliver anything it managed to subscribe to), and anonymous clients
    /// are unclaimed devices. Parts already in place answer "already exists" or "already in this role".
    /// </summary>
    public static JsonObject[] BrokerPolicyCommands() =>
    [
        new JsonObject
        {
            ["command"] = "setDefaultACLAccess",
            ["acls"] = new JsonArray(
                new JsonObject { ["acltype"] = "publishClientSend", ["allow"] = false },
                new JsonObject { ["acltype"] = "publishClientReceive", ["allow"] = false },
                new JsonObject { ["acltype"] = "subscribe", ["allow"] = false }),
        },
        new JsonObject
        {
            ["command"] = "createRole",
            ["rolename"] = UnclaimedRole,
            ["textdescription"] = "unclaimed devices: provisioning topics only",
            ["acls"] = DynamicSecurityAcls(Unclaimed()),
        },
        new JsonObject { ["command"] = "createGroup", ["groupname"] = UnclaimedRole },
        new JsonObject { ["command"] = "addGroupRole", ["groupname"] = UnclaimedRole, ["rolename"] = UnclaimedRole },
        new JsonObject { ["command"] = "setAnonymousGroup", ["groupname"] = UnclaimedRole },
    ];

    /// <summary>
    /// A client of its own name with a role of its own holding exactly these rules. Its client id is
    /// its name: the account listeners name its session so, and on the provisioning listener, which
    /// keeps the id sent, it cannot log in at all (ids sent there carry <see cref="BrokerListeners.ClientIdPrefix"/>).
    /// </summary>
    public static JsonObject[] CreateAccountCommands(string userName, string password, string role, IEnumerable<TopicRule> rules)
    {
        if (!BrokerListeners.IsAccountName(userName))
        {
            throw new ArgumentException("a broker account name must be non-empty and contain no '/' (those are anonymous clients' ids): " + userName, nameof(userName));
        }

        return
        [
            new JsonObject { ["command"] = "createRole", ["rolename"] = role, ["acls"] = DynamicSecurityAcls(rules) },
            new JsonObject
            {
                ["command"] = "createClient",
                ["username"] = userName,
                ["password"] = password,
                ["clientid"] = userName,
                ["roles"] = new JsonArray(new JsonObject { ["rolename"] = role }),
            },
        ];
    }

    public static JsonObject[] CreateDeviceCommands(uint deviceId, string password)
    {
        string name = DeviceIdText.Format(deviceId);
        return CreateAccountCommands(name, password, DeviceRole(name), Device(deviceId));
    }

    public static JsonObject[] DeleteDeviceCommands(uint deviceId)
    {
        string name = DeviceIdText.Format(deviceId);
        return DeleteAccountCommands(name, DeviceRole(name));
    }

    /// <summary>Deletes a client and its own role; absent ones answer "not found".</summary>
    public static JsonObject[] DeleteAccountCommands(string userName, string role) =>
    [
        new JsonObject { ["command"] = "deleteClient", ["username"] = userName },
        new JsonObject { ["command"] = "deleteRole", ["rolename"] = role },
    ];

    private static JsonObject Allow(string type, string topic) => new() { ["acltype"] = type, ["topic"] = topic, ["allow"] = true };
}
