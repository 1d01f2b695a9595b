namespace Anshimi.CloudBridge.Escorts;

/// <summary>Return-home monitoring (귀가모니터링) and emergency lighting; bound from configuration section "Escorts".</summary>
public sealed class EscortOptions
{
    public const string SectionName = "Escorts";

    /// <summary>The lights file (CSV, see cloud-bridge/README.md); empty means a city without smart lights.</summary>
    public string LightsFile { get; set; } = "";

    /// <summary>
    /// The cloud's escort master secret (64 hex digits): every area's escort key of every rotation is derived from it
    /// (protocol §10.1). It never leaves the cloud; lights hold only their area's derived keys.
    /// </summary>
    public string EscortKey { get; set; } = "";

    /// <summary>How often every area's escort key is replaced (whole minutes).</summary>
    public TimeSpan KeyRotationPeriod { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// After a rotation starts, escorts are still signed with the previous key for this long while the new one reaches
    /// the lights; from its end the lights refuse the previous key (whole minutes, below the period).
    /// </summary>
    public TimeSpan KeyChangeover { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the cloud checks whether a gateway's escort keys are due (protocol §10.1).</summary>
    public TimeSpan KeyDeliveryCheck { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>An escort key envelope not receipted is sent again after this, then after twice as long, up to <see cref="KeyRefresh"/>.</summary>
    public TimeSpan KeyResend { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A receipted escort key envelope is sent again after this, for a gateway that restarted meanwhile.</summary>
    public TimeSpan KeyRefresh { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Lights this close to the walker are lit.</summary>
    public double NearRadiusMetres { get; set; } = 30;

    /// <summary>How far ahead of the walker, along the route (or the heading), lights are lit in advance.</summary>
    public double AheadMetres { get; set; } = 60;

    /// <summary>Half-width of the corridor ahead: lights this close to the path ahead count as on it.</summary>
    public double AheadCorridorMetres { get; set; } = 15;

    /// <summary>A walker farther than this from the planned route is led by the heading instead.</summary>
    public double OffRouteMetres { get; set; } = 50;

    /// <summary>Escort hold on the light: how long it stays in escort after the last command repeating it.</summary>
    public int HoldSeconds { get; set; } = 30;

    /// <summary>A still-wanted light is commanded again this long before its hold would run out.</summary>
    public int RefreshMarginSeconds { get; set; } = 10;

    /// <summary>How long a gateway keeps repeating an escort or release command the lights have not confirmed.</summary>
    public TimeSpan CommandExpiry { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A session with no location update for this long ends as timed-out and its lights are released.</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often silent sessions are timed out and held lights refreshed.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>An emergency report sets this many of the nearest lights blinking.</summary>
    public int EmergencyLights { get; set; } = 3;

    /// <summary>Lights farther than this from an emergency are not used for it.</summary>
    public double EmergencySearchRadiusMetres { get; set; } = 300;

    /// <summary>How long a gateway keeps repeating an emergency command the lights have not confirmed.</summary>
    public TimeSpan EmergencyCommandExpiry { get; set; } = TimeSpan.FromMinutes(1);

    public int MaxRoutePoints { get; set; } = 500;

    public int MaxLocationsPerUpdate { get; set; } = 20;

    /// <summary>Largest request body the app API reads.</summary>
    public int MaxRequestBytes { get; set; } = 32 * 1024;
}
