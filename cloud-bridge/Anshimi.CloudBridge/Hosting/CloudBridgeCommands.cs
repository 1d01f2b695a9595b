using System.CommandLine;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Operators;

namespace Anshimi.CloudBridge.Hosting;

/// <summary>
/// Administration from the command line, with the same configuration as the service:
/// <c>operators add</c> (password from standard input), <c>operators disable</c>/<c>enable</c> and <c>audit verify</c>.
/// Changing or disabling an account ends its console sessions at once, also in a running bridge.
/// </summary>
public static class CloudBridgeCommands
{
    public static bool Handles(string[] args) => args is ["operators" or "audit", ..];

    public static async Task<int> RunAsync(string[] args)
    {
        var userName = new Argument<string>("user") { Description = "아이디 user name" };
        var districts = new Option<string[]>("--district") { Description = "자치구 코드 district code, e.g. 11680 (repeatable)", DefaultValueFactory = _ => [] };
        var central = new Option<bool>("--central") { Description = "총괄관제센터 central staff: every district" };
        var displayName = new Option<string?>("--display-name") { Description = "표시 이름 display name" };
        var replace = new Option<bool>("--replace") { Description = "기존 계정 덮어쓰기 replace an existing account (new password, districts, role; ends its sessions)" };
        var add = new Command("add", "관제요원 계정 추가 — add an operator; reads the password from standard input")
        {
            userName, districts, central, displayName, replace,
        };
        add.SetAction(async (parse, cancellationToken) =>
        {
            string? password = await Console.In.ReadLineAsync(cancellationToken);
            await using ServiceProvider services = BuildServices();
            var seed = new OperatorSeed
            {
                UserName = parse.GetValue(userName)!,
                DisplayName = parse.GetValue(displayName),
                Password = password ?? "",
                Districts = [.. parse.GetValue(districts)!],
                Central = parse.GetValue(central),
            };
            try
            {
                bool saved = await services.GetRequiredService<OperatorSignIn>().SaveAsync(seed, parse.GetValue(replace), "cli", cancellationToken);
                Console.WriteLine(saved ? "저장됨 saved: " + seed.UserName : "이미 있음 already exists (use --replace): " + seed.UserName);
                return saved ? 0 : 1;
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }
        });

        var disable = new Command("disable", "관제요원 계정 사용 중지 — disable an account and end its sessions") { userName };
        disable.SetAction((parse, cancellationToken) => SetDisabledAsync(parse.GetValue(userName)!, true, cancellationToken));
        var enable = new Command("enable", "관제요원 계정 다시 사용 — enable a disabled account") { userName };
        enable.SetAction((parse, cancellationToken) => SetDisabledAsync(parse.GetValue(userName)!, false, cancellationToken));

        var verify = new Command("verify", "감사 기록 검증 — verify the audit log's hash chain");
        verify.SetAction(async (_, cancellationToken) =>
        {
            await using ServiceProvider services = BuildServices();
            AuditVerification result = await services.GetRequiredService<AuditLog>().VerifyAsync(cancellationToken);
            Console.WriteLine(result.Intact
                ? $"정상 intact: {result.RowsVerified} rows"
                : $"변조 감지 TAMPERED: first broken row {result.FirstBrokenId} ({result.Problem}); {result.RowsVerified} rows before it verified");
            return result.Intact ? 0 : 1;
        });

        var root = new RootCommand("안심이 클라우드 브리지 관리 — Anshimi cloud bridge administration")
        {
            new Command("operators", "관제요원 계정 operator accounts") { add, disable, enable },
            new Command("audit", "감사 기록 audit log") { verify },
        };
        return await root.Parse(args).InvokeAsync();
    }

    private static async Task<int> SetDisabledAsync(string userName, bool disabled, CancellationToken cancellationToken)
    {
        await using ServiceProvider services = BuildServices();
        bool found = await services.GetRequiredService<OperatorSignIn>().SetDisabledAsync(userName, disabled, "cli", cancellationToken);
        Console.WriteLine(!found ? "없음 no such account: " + userName : disabled ? "사용 중지됨 disabled: " + userName : "사용 가능 enabled: " + userName);
        return found ? 0 : 1;
    }

    /// <summary>The service's own registrations and configuration (appsettings, environment), without starting it.</summary>
    private static ServiceProvider BuildServices()
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.AddCloudBridge();
        return (ServiceProvider)builder.Build().Services;
    }
}
