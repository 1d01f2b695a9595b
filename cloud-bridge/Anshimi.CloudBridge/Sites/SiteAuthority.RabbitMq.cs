using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.CloudBridge.Sites;

/// <summary>
/// The city's endpoint as a RabbitMQ 3.10 cluster (docs/high-availability.md): each node's rabbitmq.conf and the
/// definitions every node loads at boot, with the same rules as the Mosquitto endpoint's configuration and ACL, and the
/// running cluster's users kept in step with the certificates issued and revoked (<c>rabbitmqctl</c>).
/// </summary>
public sealed partial class SiteAuthority
{
    private const string BridgePublishes = @"^anshimi\.v1\.gw\.[^.]+\.commands$";
    private const string BridgeSubscribes = @"^anshimi\.v1\.gw\.[^.]+\.(events|status)$";

    /// <summary>
    /// One node's rabbitmq.conf: MQTT over TLS only with this CA and the endpoint's certificate, a client certificate
    /// required and its CN the user (<c>ssl_cert_login</c>), no anonymous clients, QoS 1 subscriptions in quorum queues,
    /// the cluster formed from <paramref name="nodeNames"/> (classic config), and <paramref name="definitionsFile"/> loaded at boot.
    /// </summary>
    public IReadOnlyList<string> RabbitMqConfiguration(int port, string bindAddress, IReadOnlyList<string> nodeNames, string definitionsFile)
    {
        if (nodeNames.Count == 0)
        {
            throw new ArgumentException("the cluster's node names are needed (rabbit@host each)", nameof(nodeNames));
        }

        List<string> lines =
        [
            "# One node of the cloud's MQTT endpoint cluster (written by the cloud bridge: endpoint config --broker rabbitmq).",
            "# Gateway boxes and bridge instances connect over TLS with a certificate from the site CA; its CN is the user, whose",
            "# permissions (definitions file) confine it to its own topics and its own session queue.",
            "listeners.tcp = none",
            "mqtt.listeners.tcp = none",
            $"mqtt.listeners.ssl.default = {bindAddress}:{port.ToString(CultureInfo.InvariantCulture)}",
            "mqtt.allow_anonymous = false",
            "mqtt.ssl_cert_login = true",
            "ssl_cert_login_from = common_name",
            "mqtt.durable_queue_type = quorum",
            "ssl_options.cacertfile = " + CaCertificateFile,
            "ssl_options.certfile = " + EndpointCertificateFile,
            "ssl_options.keyfile = " + EndpointKeyFile,
            "ssl_options.verify = verify_peer",
            "ssl_options.fail_if_no_peer_cert = true",
            "ssl_options.versions.1 = tlsv1.3",
            "ssl_options.versions.2 = tlsv1.2",
            "cluster_formation.peer_discovery_backend = classic_config",
            .. nodeNames.Select((name, i) => $"cluster_formation.classic_config.nodes.{(i + 1).ToString(CultureInfo.InvariantCulture)} = {name}"),
            "load_definitions = " + definitionsFile,
        ];
        return lines;
    }

    /// <summary>
    /// The definitions every node loads: each identity with an unrevoked certificate (every bridge identity and every
    /// gateway) as a user without a password, with its resource and topic permissions.
    /// </summary>
    public string RabbitMqDefinitions() =>
        RabbitMqDefinitions([.. BridgeIdentities().Select(RabbitMqBridgeUser), .. GatewayIdentities().Select(RabbitMqGatewayUser)]);

    /// <summary>
    /// After a certificate is issued: rewrites <see cref="SiteAuthorityOptions.RabbitMqDefinitionsFile"/> and imports it into
    /// the running cluster with <see cref="SiteAuthorityOptions.RabbitMqCtl"/>, so the new identity connects at once; 0 when
    /// neither is configured.
    /// </summary>
    public async Task<int> AddClusterUserAsync(CancellationToken cancellationToken)
    {
        if (options.RabbitMqDefinitionsFile is not { Length: > 0 } file)
        {
            return 0;
        }

        await File.WriteAllTextAsync(file, RabbitMqDefinitions(), cancellationToken);
        return string.IsNullOrWhiteSpace(options.RabbitMqCtl) ? 0 : await RunRabbitMqCtlAsync($"import_definitions '{file}'", cancellationToken);
    }

    /// <summary>
    /// Removes <paramref name="identity"/>'s user from the running cluster and closes its open connections at once
    /// (<see cref="SiteAuthorityOptions.RabbitMqCtl"/>), after rewriting <see cref="SiteAuthorityOptions.RabbitMqDefinitionsFile"/>
    /// without it; 0 when none is configured.
    /// </summary>
    public async Task<int> RemoveClusterUserAsync(string identity, CancellationToken cancellationToken)
    {
        // A node booting later loads the definitions file: it must no longer name the user.
        if (options.RabbitMqDefinitionsFile is { Length: > 0 } file)
        {
            await File.WriteAllTextAsync(file, RabbitMqDefinitions(), cancellationToken);
        }

        if (string.IsNullOrWhiteSpace(options.RabbitMqCtl))
        {
            return 0;
        }

        // Deleting the user refuses its next connect; its open connections are closed explicitly.
        int deleted = await RunRabbitMqCtlAsync($"delete_user '{identity}'", cancellationToken);
        int closed = await RunRabbitMqCtlAsync($"close_all_user_connections '{identity}' 'certificate revoked'", cancellationToken);
        return deleted != 0 ? deleted : closed;
    }

    private static RabbitMqUser RabbitMqBridgeUser(string identity) => new(identity, BridgeClientId(identity), BridgePublishes, BridgeSubscribes);

    private static RabbitMqUser RabbitMqGatewayUser(string gatewayId)
    {
        string id = Regex.Escape(gatewayId);
        return new(gatewayId, BrokerListeners.AccountClientId("gateway-" + gatewayId), $@"^anshimi\.v1\.gw\.{id}\.(events|status)$", $@"^anshimi\.v1\.gw\.{id}\.commands$");
    }

    /// <summary>
    /// Users without passwords (only a certificate signs them in). RabbitMQ 3.10 takes the client id the client sends, so
    /// each user may declare, write and read only the session queue of its own client id (<c>mqtt-subscription-{id}qos0|1</c>)
    /// besides <c>amq.topic</c>, where its topic permissions (MQTT's '/' as '.') confine it to its own topics.
    /// </summary>
    private static string RabbitMqDefinitions(IReadOnlyList<RabbitMqUser> users)
    {
        var definitions = new
        {
            vhosts = new[] { new { name = "/" } },
            users = users.Select(u => new { name = u.Name, password_hash = "", hashing_algorithm = "rabbit_password_hashing_sha256", tags = "" }),
            permissions = users.Select(u =>
            {
                string queue = "mqtt-subscription-" + Regex.Escape(u.ClientId) + "qos[01]";
                return new { user = u.Name, vhost = "/", configure = $"^{queue}$", write = $@"^(amq\.topic|{queue})$", read = $@"^(amq\.topic|{queue})$" };
            }),
            topic_permissions = users.Select(u => new { user = u.Name, vhost = "/", exchange = "amq.topic", write = u.Publishes, read = u.Subscribes }),
        };
        return JsonSerializer.Serialize(definitions, new JsonSerializerOptions { WriteIndented = true });
    }

    private async Task<int> RunRabbitMqCtlAsync(string arguments, CancellationToken cancellationToken)
    {
        using Process process = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", options.RabbitMqCtl + " " + arguments } })
            ?? throw new InvalidOperationException("/bin/sh could not be started");
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode;
    }

    /// <summary>One identity on the cluster: its user (certificate CN), the client id it sends, and its topic permissions (regular expressions).</summary>
    private sealed record RabbitMqUser(string Name, string ClientId, string Publishes, string Subscribes);
}
