using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Operators;

public sealed record SignInRequest(string? UserName, string? Password);

public sealed record SessionView(string UserName, string DisplayName, bool Central, IReadOnlyList<DistrictName> Districts, DateTimeOffset? ExpiresAt);

/// <summary>
/// Console sign-in: an HttpOnly, SameSite=Strict session cookie with a sliding timeout. State-changing requests
/// must carry <see cref="RequestHeader"/> — a header a cross-site form cannot send — as the CSRF guard.
/// </summary>
public static class OperatorAuthentication
{
    public const string Scheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string OperatorPolicy = "operator";
    public const string CentralPolicy = "central";

    /// <summary>Metrics, upstream status and the OpenAPI document: central staff, or anyone on the admin listener.</summary>
    public const string StatusPolicy = "status";
    public const string RequestHeader = "X-Anshimi-Request";
    public const string CookieName = "anshimi.console";

    public static WebApplicationBuilder AddOperatorSignIn(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        services.AddOptions<OperatorOptions>()
            .Bind(builder.Configuration.GetSection(OperatorOptions.SectionName))
            .Validate(o => o.SessionTimeout > TimeSpan.Zero, "Operators:SessionTimeout must be positive.")
            .Validate(o => o.StreamSessionCheck > TimeSpan.Zero, "Operators:StreamSessionCheck must be positive.")
            .Validate(o => o.FreeFailedSignIns > 0 && o.SignInDelay > TimeSpan.Zero && o.MaxUserNameDelay >= o.SignInDelay
                && o.MaxSourceDelay >= o.SignInDelay && o.FailureMemory > TimeSpan.Zero,
                "Operators: FreeFailedSignIns, SignInDelay and FailureMemory must be positive, MaxUserNameDelay and MaxSourceDelay not below SignInDelay.")
            .Validate(o => o.FailureAuditInterval > TimeSpan.Zero, "Operators:FailureAuditInterval must be positive.")
            .ValidateOnStart();
        services.AddSingleton(sp => new OperatorAccountStore(sp.GetRequiredService<StoreDatabases>().Get(StoreFile.Operators)));
        services.AddSingleton<OperatorSessionStore>();
        services.TryAddSingleton<IPasswordHasher<OperatorAccount>, PasswordHasher<OperatorAccount>>();
        services.AddSingleton<SignInThrottle>();
        services.AddSingleton<SignInFailureAudit>();
        services.AddHostedService(sp => sp.GetRequiredService<SignInFailureAudit>());
        services.AddSingleton<OperatorSignIn>();
        services.AddHostedService<OperatorSeeding>();

        // Cookie keys live beside the data, so a restarted bridge (or the CLI) does not sign every operator out; on
        // PostgreSQL in the shared database, so every bridge instance reads the cookies the others issued.
        IDataProtectionBuilder dataProtection = services.AddDataProtection().SetApplicationName("anshimi-cloud-bridge");
        if (builder.Configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>()?.Provider == StorageProvider.PostgreSql)
        {
            services.AddOptions<KeyManagementOptions>().Configure<StoreDatabases>((keys, databases) => keys.XmlRepository = new StoredKeyRing(databases.Get(StoreFile.Operators)));
            services.AddHostedService<KeyRingSeeding>();
        }
        else
        {
            string dataDirectory = builder.Configuration[CloudBridgeOptions.SectionName + ":" + nameof(CloudBridgeOptions.DataDirectory)] ?? new CloudBridgeOptions().DataDirectory;
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataDirectory, "keys")));
        }

        services.AddAuthentication(Scheme).AddCookie(Scheme, _ => { });
        services.AddOptions<CookieAuthenticationOptions>(Scheme).Configure<IOptions<OperatorOptions>, OperatorSessionStore>((cookie, operators, sessions) =>
        {
            // The cookie carries only a session key; the session, and the account's rights, are read on every request.
            cookie.SessionStore = sessions;
            cookie.Cookie.Name = CookieName;
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = operators.Value.CookieSecurePolicy;
            cookie.ExpireTimeSpan = operators.Value.SessionTimeout;
            cookie.SlidingExpiration = true;

            // An API answers 401/403; the console shows its own sign-in form.
            cookie.Events.OnRedirectToLogin = context => Status(context, StatusCodes.Status401Unauthorized);
            cookie.Events.OnRedirectToAccessDenied = context => Status(context, StatusCodes.Status403Forbidden);
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(OperatorPolicy, policy => policy.RequireAuthenticatedUser())
            .AddPolicy(CentralPolicy, policy => policy.RequireRole(OperatorScope.CentralRole))
            .AddPolicy(StatusPolicy, policy => policy.RequireAssertion(context =>
                context.User.IsInRole(OperatorScope.CentralRole)
                || (context.Resource is HttpContext http && http.RequestServices.GetRequiredService<AdminListener>().Serves(http))));
        return builder;
    }

    /// <summary>Rejects POST/PUT/PATCH/DELETE without the console's request header (CSRF guard).</summary>
    public static TBuilder RequireConsoleHeader<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            HttpRequest request = context.HttpContext.Request;
            if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !request.Headers.ContainsKey(RequestHeader))
            {
                return TypedResults.Problem(
                    title: "Missing request header",
                    detail: $"State-changing requests must carry the {RequestHeader} header.",
                    statusCode: StatusCodes.Status403Forbidden);
            }

            return await next(context);
        });

    /// <summary>POST /api/session (sign in), GET /api/session (who am I), POST /api/session/sign-out.</summary>
    public static void MapSessionApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        RouteGroupBuilder session = api.MapGroup("/session").WithTags("Session").RequireConsoleHeader();
        session.MapPost("/", SignInAsync).AllowAnonymous().WithName("SignIn")
            .WithSummary("로그인: sign in; sets the session cookie. 401 wrong (the same for unknown names), 429 too many wrong passwords from this address, 409 already signed in.");
        session.MapGet("/", GetSession).AllowAnonymous().WithName("GetSession")
            .WithSummary("Who is signed in; 204 when nobody is (the console then shows its sign-in form).");
        session.MapPost("/sign-out", SignOutAsync).RequireAuthorization(OperatorPolicy).WithName("SignOut").WithSummary("로그아웃");
    }

    private static async Task<Results<Ok<SessionView>, ProblemHttpResult>> SignInAsync(
        SignInRequest? request, HttpContext http, OperatorSignIn signIn, DistrictDirectory districts, CancellationToken cancellationToken)
    {
        string userName = request?.UserName ?? "";
        string password = request?.Password ?? "";
        if (userName.Trim().Length is 0 or > OperatorSignIn.MaxUserNameLength || password.Length is 0 or > 1024)
        {
            return TypedResults.Problem(title: "User name and password required", statusCode: StatusCodes.Status400BadRequest);
        }

        // The cookie handler would carry a live session over to the new sign-in; end it, and let the console sign in afresh.
        if (http.User.Identity?.IsAuthenticated == true)
        {
            await SignOutAsync(http, signIn, cancellationToken);
            return TypedResults.Problem(
                title: "Previous session ended",
                detail: "이전 세션을 종료했습니다. 다시 로그인하세요. The previous session was ended; sign in again.",
                statusCode: StatusCodes.Status409Conflict);
        }

        SignInResult result = await signIn.SignInAsync(userName, password, SignInThrottle.SourceOf(http.Connection.RemoteIpAddress), cancellationToken);
        switch (result.Outcome)
        {
            case SignInOutcome.Throttled:
                int seconds = (int)Math.Ceiling(result.RetryAfter.TotalSeconds);
                http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return TypedResults.Problem(
                    title: "Too many sign-in attempts",
                    detail: $"이 주소에서 로그인 실패가 많습니다. {seconds}초 후 다시 시도하세요. Too many wrong passwords from this address; try again in {seconds} s.",
                    statusCode: StatusCodes.Status429TooManyRequests);
            case SignInOutcome.Invalid:
                return TypedResults.Problem(
                    title: "Wrong user name or password",
                    detail: "아이디 또는 비밀번호가 올바르지 않습니다.",
                    statusCode: StatusCodes.Status401Unauthorized);
        }

        OperatorAccount account = result.Account!;
        var scope = new OperatorScope(account.UserName, account.Central, account.Districts);
        await http.SignInAsync(Scheme, scope.ToPrincipal(account.DisplayName, Scheme));
        return TypedResults.Ok(ViewOf(scope, account.DisplayName, districts, null));
    }

    private static async Task<Results<Ok<SessionView>, NoContent>> GetSession(HttpContext http, DistrictDirectory districts)
    {
        AuthenticateResult auth = await http.AuthenticateAsync(Scheme);
        if (!auth.Succeeded)
        {
            return TypedResults.NoContent();
        }

        var scope = OperatorScope.Of(auth.Principal);
        return TypedResults.Ok(ViewOf(scope, auth.Principal.FindFirst(OperatorScope.DisplayNameClaim)?.Value ?? scope.UserName, districts, auth.Properties?.ExpiresUtc));
    }

    private static async Task<NoContent> SignOutAsync(HttpContext http, OperatorSignIn signIn, CancellationToken cancellationToken)
    {
        await signIn.SignedOutAsync(OperatorScope.Of(http.User), cancellationToken);
        await http.SignOutAsync(Scheme);
        return TypedResults.NoContent();
    }

    private static SessionView ViewOf(OperatorScope scope, string displayName, DistrictDirectory districts, DateTimeOffset? expiresAt) =>
        new(scope.UserName, displayName, scope.Central,
            (scope.Central ? districts.All : scope.Districts.Select(districts.NameOf)).OrderBy(d => d.Code, StringComparer.Ordinal).ToList(),
            expiresAt);

    private static Task Status(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        context.Response.StatusCode = status;
        return Task.CompletedTask;
    }
}
