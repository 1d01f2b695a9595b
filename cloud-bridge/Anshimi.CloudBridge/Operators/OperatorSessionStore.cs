using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.WebUtilities;

namespace Anshimi.CloudBridge.Operators;

/// <summary>
/// Server-side console sessions for the cookie handler (<see cref="CookieAuthenticationOptions.SessionStore"/>): the
/// cookie holds only a random session key, and every request reads the session and its account from operators.db.
/// A session that was signed out, ended by an account change or belongs to a disabled account is not found, so its
/// cookie is refused and never renewed. Name, districts and role always come from the account as stored now.
/// </summary>
public sealed class OperatorSessionStore : ITicketStore
{
    private readonly OperatorAccountStore _accounts;
    private readonly TimeProvider _time;

    public OperatorSessionStore(OperatorAccountStore accounts, TimeProvider time)
    {
        _accounts = accounts;
        _time = time;
    }

    /// <summary>The stored id of a session key: its SHA-256, so the database never holds a usable key.</summary>
    public static string IdOf(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public Task<string> StoreAsync(AuthenticationTicket ticket) => StoreAsync(ticket, CancellationToken.None);

    public async Task<string> StoreAsync(AuthenticationTicket ticket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        string key = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        (DateTimeOffset issued, DateTimeOffset expires) = TimesOf(ticket);
        // Not stored when the account changed after its password was checked: the cookie then names no session, so
        // its first request is refused and the console asks to sign in again.
        await _accounts.AddSessionAsync(IdOf(key), OperatorScope.Of(ticket.Principal), issued, expires, cancellationToken);
        return key;
    }

    public Task RenewAsync(string key, AuthenticationTicket ticket) => RenewAsync(key, ticket, CancellationToken.None);

    public Task RenewAsync(string key, AuthenticationTicket ticket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        (DateTimeOffset issued, DateTimeOffset expires) = TimesOf(ticket);
        return _accounts.RenewSessionAsync(IdOf(key), issued, expires, cancellationToken);
    }

    public Task<AuthenticationTicket?> RetrieveAsync(string key) => RetrieveAsync(key, CancellationToken.None);

    public async Task<AuthenticationTicket?> RetrieveAsync(string key, CancellationToken cancellationToken)
    {
        OperatorSession? session = await _accounts.FindSessionAsync(IdOf(key), _time.GetUtcNow(), cancellationToken);
        if (session is null)
        {
            return null;
        }

        var properties = new AuthenticationProperties { IssuedUtc = session.IssuedAt, ExpiresUtc = session.ExpiresAt, AllowRefresh = true };
        return new AuthenticationTicket(ScopeOf(session).ToPrincipal(session.Account.DisplayName, OperatorAuthentication.Scheme), properties, OperatorAuthentication.Scheme);
    }

    /// <summary>What the session may see now, read from the account store; null once it has ended (open streams stop then).</summary>
    public async Task<OperatorScope?> CurrentScopeAsync(string sessionId, CancellationToken cancellationToken)
    {
        OperatorSession? session = await _accounts.FindSessionAsync(sessionId, _time.GetUtcNow(), cancellationToken);
        return session is null ? null : ScopeOf(session);
    }

    public Task RemoveAsync(string key) => RemoveAsync(key, CancellationToken.None);

    public Task RemoveAsync(string key, CancellationToken cancellationToken) => _accounts.RemoveSessionAsync(IdOf(key), cancellationToken);

    private static OperatorScope ScopeOf(OperatorSession session) =>
        new(session.Account.UserName, session.Account.Central, session.Account.Districts, session.Id);

    private (DateTimeOffset Issued, DateTimeOffset Expires) TimesOf(AuthenticationTicket ticket)
    {
        DateTimeOffset issued = ticket.Properties.IssuedUtc ?? _time.GetUtcNow();
        return (issued, ticket.Properties.ExpiresUtc ?? issued);
    }
}
