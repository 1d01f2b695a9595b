using System.Security.Claims;

namespace Anshimi.CloudBridge.Operators;

/// <summary>
/// What a signed-in operator may see: central staff every district, an operator only their own. Every API
/// handler filters by it on the server, so another district's items are simply absent (404, never 403).
/// </summary>
public sealed class OperatorScope
{
    public const string DistrictClaim = "anshimi:district";
    public const string CentralRole = "central";
    public const string SessionClaim = "anshimi:session";
    public const string DisplayNameClaim = "anshimi:display-name";

    private readonly HashSet<string> _districts;

    public OperatorScope(string userName, bool central, IEnumerable<string> districts, string? sessionId = null)
    {
        UserName = userName;
        SessionId = sessionId;
        Central = central;
        _districts = new HashSet<string>(districts, StringComparer.Ordinal);
    }

    public string UserName { get; }

    public bool Central { get; }

    public IReadOnlyCollection<string> Districts => _districts;

    /// <summary>The server-side session this scope was read from (<see cref="OperatorSessionStore"/>).</summary>
    public string? SessionId { get; }

    public bool CanSee(string districtCode) => Central || _districts.Contains(districtCode);

    public static OperatorScope Of(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new OperatorScope(
            user.Identity?.Name ?? "",
            user.IsInRole(CentralRole),
            user.FindAll(DistrictClaim).Select(c => c.Value),
            user.FindFirst(SessionClaim)?.Value);
    }

    public ClaimsPrincipal ToPrincipal(string displayName, string authenticationType)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, UserName), new(DisplayNameClaim, displayName) };
        if (SessionId is not null)
        {
            claims.Add(new Claim(SessionClaim, SessionId));
        }

        if (Central)
        {
            claims.Add(new Claim(ClaimTypes.Role, CentralRole));
        }

        claims.AddRange(_districts.Select(d => new Claim(DistrictClaim, d)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType));
    }
}
