using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Storage;

/// <summary>Claim states of a registry row (device_state column).</summary>
public static class DeviceState
{
    /// <summary>Heard announcing itself, not yet claimed (lives on the hello board, not in the table).</summary>
    public const string Unclaimed = "unclaimed";

    /// <summary>Credentials issued; not yet through a walk test.</summary>
    public const string Claimed = "claimed";

    /// <summary>Passed a walk test (or came from the seeded fleet file).</summary>
    public const string Active = "active";

    /// <summary>Its site moved to another device; key and broker account revoked.</summary>
    public const string Replaced = "replaced";

    /// <summary>Taken out of service; key and broker account revoked.</summary>
    public const string Decommissioned = "decommissioned";

    /// <summary>Site kind of a claimed device that has no site yet.</summary>
    public const string UnboundSite = "unbound";
}

/// <summary>Where a device is installed, as the installer binds it. <see cref="Reference"/> is pseudonymous.</summary>
public sealed record SiteBinding(string Kind, string Address, double Latitude, double Longitude, string Reference, string DistrictCode);

/// <summary>One registry row for installers and the district's asset list. No key.</summary>
public sealed record DeviceRow(
    string DeviceId,
    string State,
    string Profile,
    string? FirmwareVersion,
    SiteInfo Site,
    string? DistrictCode,
    string? SiteReference,
    DateTimeOffset? LastSeen,
    DateTimeOffset? ClaimedAt,
    string? ReplacedBy,
    int? BatteryPercent,
    int HealthFlags)
{
    /// <summary>The site's 행정동; not stored, filled in the installer's bind answer where the boundaries are configured.</summary>
    public Provisioning.NeighbourhoodLabel? Neighbourhood { get; init; }
}

/// <summary>What became of a registry change.</summary>
public enum RegistryChange
{
    Done,
    NotFound,

    /// <summary>The device is in a state that does not allow the change (named in the message).</summary>
    Conflict,
}
