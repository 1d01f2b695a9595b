using Anshimi.Mqtt;

namespace Anshimi.CloudBridge.Hosting;

/// <summary>Settings of the cloud bridge; bound from configuration section "CloudBridge".</summary>
public sealed class CloudBridgeOptions
{
    public const string SectionName = "CloudBridge";

    /// <summary>Where the SQLite alarm store lives; relative paths resolve against the working directory.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// Seoul district boundaries (GeoJSON). A relative path is tried against the working directory
    /// and then against each parent of the application directory.
    /// </summary>
    public string DistrictsGeoJson { get; set; } = "../shared/data/seoul-municipalities.geojson";

    /// <summary>
    /// Seoul's administrative neighbourhoods (행정동, GeoJSON with adm_nm, adm_cd2, sgg, sggnm), found like
    /// <see cref="DistrictsGeoJson"/>. Empty: alarms carry no neighbourhood.
    /// </summary>
    public string NeighbourhoodsGeoJson { get; set; } = "../shared/data/seoul-admin-dongs-2021.geojson";

    /// <summary>First re-send delay of an operator acknowledgement not yet relayed by its gateway.</summary>
    public TimeSpan AckRetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Cap of the doubling re-send delay.</summary>
    public TimeSpan AckRetryMaxInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The admin listener for Prometheus and ops tools (<see cref="AdminListener"/>), e.g. <c>http://127.0.0.1:5081</c>;
    /// none by default. Bind it to loopback or a management network only: it needs no sign-in.
    /// </summary>
    public string? AdminUrl { get; set; }

    /// <summary>How long a receipt or acknowledgement publish may wait for the broker's PUBACK.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// This instance's name among the instances sharing one PostgreSQL database (letters, digits, '-', '_'); it tells
    /// its own alarm notices from the others'. Default: the instance its MQTT client certificate names
    /// (<c>anshimi-cloud-bridge-{instance}</c>, from <c>bridges issue</c>; set otherwise, it must match), else the host name.
    /// </summary>
    public string InstanceId { get; set; } = "";

    /// <summary>PostgreSQL only: delays between attempts to reopen the connection that listens for other instances' alarms.</summary>
    public ReconnectBackoffOptions ListenReconnect { get; set; } = new();

    /// <summary>
    /// Several instances: the share group in which they subscribe to gateway events (<c>$share/group/…</c>), so the
    /// endpoint hands each envelope to one of them. Empty (the default): a plain subscription, for one instance.
    /// </summary>
    public string? IngressShareGroup { get; set; }

    /// <summary>The first problem with <see cref="InstanceId"/> or <see cref="IngressShareGroup"/>, naming its key; null when usable.</summary>
    public string? InstancesProblem() =>
        string.IsNullOrEmpty(InstanceId) || InstanceId.Length > 64 || !InstanceId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? $"{SectionName}:{nameof(InstanceId)} must be 1 to 64 letters, digits, '-' or '_'."
            : IngressShareGroup is { Length: > 0 } group && !group.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? $"{SectionName}:{nameof(IngressShareGroup)} must be letters, digits, '-' or '_'."
            : null;
}
