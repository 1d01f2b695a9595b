namespace Anshimi.Gateway.Provisioning;

/// <summary>Installer provisioning, bound from configuration section "Provisioning".</summary>
public sealed class ProvisioningOptions
{
    public const string SectionName = "Provisioning";

    /// <summary>Off unless configured: provisioning needs the broker's dynamic-security admin account.</summary>
    public bool Enabled { get; set; }

    /// <summary>The dynamic-security admin account the gateway manages device accounts with.</summary>
    public string DynamicSecurityUsername { get; set; } = "anshimi-provisioner";

    /// <summary>A root-only file holding that account's password (one line).</summary>
    public string DynamicSecurityPasswordFile { get; set; } = "";

    /// <summary>The installer API's bearer token (created 0600 at first start); default: admin.token in the data directory.</summary>
    public string AdminTokenFile { get; set; } = "";

    /// <summary>Seoul's district boundaries (seoul-municipalities.geojson), to check coordinates and derive the district.</summary>
    public string DistrictsFile { get; set; } = "";

    /// <summary>Seoul's 행정동 boundaries (seoul-admin-dongs-2021.geojson), to name a bound site's neighbourhood; empty: none.</summary>
    public string NeighbourhoodsFile { get; set; } = "";

    /// <summary>Unclaimed devices remembered at once; the oldest hello goes when a new device would exceed it.</summary>
    public int MaxUnclaimed { get; set; } = 256;

    /// <summary>Distinct hellos (power-ups, or clients posing as the device) listed at once for one device id; the claim code picks the genuine one.</summary>
    public int MaxHellosPerDevice { get; set; } = 4;

    /// <summary>Least time between two new distinct hellos accepted for one id (a device repeats its own hello, which is always accepted).</summary>
    public TimeSpan NewHelloInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A hello older than this no longer lists its device (a device repeats its hello every few seconds).</summary>
    public TimeSpan HelloLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a walk test runs unless the installer ends it.</summary>
    public TimeSpan WalkTestWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Longest wait for the broker to answer a dynamic-security command.</summary>
    public TimeSpan ControlTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
