using System.CommandLine;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Operators;
using Anshimi.CloudBridge.Sites;

namespace Anshimi.CloudBridge.Hosting;

/// <summary>
/// Administration from the command line, with the same configuration as the service:
/// <c>operators add</c> (password from standard input), <c>operators disable</c>/<c>enable</c>, <c>audit verify</c>, and the MQTT endpoint's certificates:
/// <c>endpoint init</c>, <c>endpoint config</c>, <c>endpoint renew-crl</c>, <c>gateways issue</c>, <c>gateways revoke</c>, and one identity
/// per bridge instance: <c>bridges issue</c>, <c>bridges revoke</c> (<see cref="SiteAuthority"/>).
/// Changing or disabling an account ends its console sessions at once, also in a running bridge.
/// </summary>
public static class CloudBridgeCommands
{
    public static bool Handles(string[] args) => args is ["operators" or "audit" or "endpoint" or "gateways" or "bridges", ..];

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
            EndpointCommand(),
            GatewaysCommand(),
            BridgesCommand(),
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

    private static Command EndpointCommand()
    {
        var hosts = new Option<string[]>("--host") { Description = "엔드포인트 호스트 이름 또는 주소 endpoint host name or address (repeatable; the first is its CN)", Required = true };
        var init = new Command("init", "인증기관·서버 인증서 생성 — create the site CA (kept if present), an empty CRL, the endpoint's server certificate and the bridge's client certificate") { hosts };
        init.SetAction(parse =>
        {
            SiteAuthority authority = LoadAuthority();
            authority.Initialize(parse.GetValue(hosts)!);
            Console.WriteLine($"준비됨 ready: CA {authority.CaCertificateFile}, CRL {authority.CrlFile}, endpoint {authority.EndpointCertificateFile}, bridge {authority.BridgeCertificateFile}");
            return 0;
        });
        var renew = new Command("renew-crl", "폐기 목록 갱신 — sign the CRL anew before it expires, then reload the endpoint");
        renew.SetAction(async (_, cancellationToken) =>
        {
            SiteAuthority authority = LoadAuthority();
            authority.RenewCrl();
            return await ReloadAsync(authority, revoked: null, cancellationToken);
        });
        var port = new Option<int>("--port") { Description = "TLS 포트 TLS port", DefaultValueFactory = _ => 8883 };
        var bind = new Option<string>("--bind") { Description = "수신 주소 address to listen on", DefaultValueFactory = _ => "0.0.0.0" };
        var broker = new Option<string>("--broker") { Description = "브로커 mosquitto (one server) or rabbitmq (one node of the cluster)", DefaultValueFactory = _ => "mosquitto" };
        broker.AcceptOnlyFromAmong("mosquitto", "rabbitmq");
        var acl = new Option<string?>("--acl") { Description = "mosquitto: ACL 파일 the ACL file to write and name (the template plus every bridge instance identity)" };
        var nodes = new Option<string[]>("--node") { Description = "rabbitmq: 클러스터 노드 이름 every node of the cluster, rabbit@host (repeatable)", DefaultValueFactory = _ => [] };
        var definitions = new Option<string?>("--definitions") { Description = "rabbitmq: 정의 파일 the definitions file to write and load at boot (users and permissions of every identity)" };
        var aclTemplate = new Option<string>("--acl-template")
        {
            Description = "ACL 템플릿 the ACL template (cloud-bridge/endpoint/endpoint.acl.template, installed beside the bridge)",
            DefaultValueFactory = _ => Path.Combine(AppContext.BaseDirectory, "endpoint", "endpoint.acl.template"),
        };
        var data = new Option<string>("--data") { Description = "저장 디렉터리 persistence directory", DefaultValueFactory = _ => "/var/lib/mosquitto" };
        var log = new Option<string>("--log") { Description = "로그 파일 log file", DefaultValueFactory = _ => "/var/log/mosquitto/anshimi-endpoint.log" };
        var user = new Option<string>("--user") { Description = "mosquitto 실행 사용자 the user mosquitto runs as", DefaultValueFactory = _ => "mosquitto" };
        var config = new Command("config", "엔드포인트 설정 출력 — write the endpoint's ACL (mosquitto) or definitions (rabbitmq) and print its mosquitto.conf or one node's rabbitmq.conf for this site CA")
        {
            broker, port, bind, acl, aclTemplate, nodes, definitions, data, log, user,
        };
        config.SetAction(parse =>
        {
            SiteAuthority authority = LoadAuthority();
            IReadOnlyList<string> lines;
            if (parse.GetValue(broker) == "rabbitmq")
            {
                if (parse.GetValue(definitions) is not { Length: > 0 } definitionsFile || parse.GetValue(nodes) is not { Length: > 0 } nodeNames)
                {
                    Console.Error.WriteLine("--broker rabbitmq needs --definitions FILE and --node rabbit@host for every node");
                    return 2;
                }

                File.WriteAllText(definitionsFile, authority.RabbitMqDefinitions());
                lines = authority.RabbitMqConfiguration(parse.GetValue(port), parse.GetValue(bind)!, nodeNames, definitionsFile);
            }
            else
            {
                if (parse.GetValue(acl) is not { Length: > 0 } aclFile)
                {
                    Console.Error.WriteLine("--acl FILE is needed for mosquitto");
                    return 2;
                }

                File.WriteAllLines(aclFile, authority.EndpointAcl(File.ReadAllLines(parse.GetValue(aclTemplate)!)));
                lines = authority.EndpointConfiguration(parse.GetValue(port), parse.GetValue(bind)!, aclFile, parse.GetValue(data)!, parse.GetValue(log)!, parse.GetValue(user)!);
            }

            foreach (string line in lines)
            {
                Console.WriteLine(line);
            }

            return 0;
        });
        return new Command("endpoint", "클라우드 MQTT 엔드포인트 cloud MQTT endpoint") { init, config, renew };
    }

    private static Command GatewaysCommand()
    {
        var id = new Argument<string>("gateway-id") { Description = "게이트웨이 ID gateway id, e.g. gw-jongno-01" };
        var output = new Option<string>("--out") { Description = "자격 증명을 쓸 디렉터리 directory for gateway.key, gateway.crt and ca.crt", Required = true };
        var issue = new Command("issue", "게이트웨이 자격 증명 발급 — issue a new gateway's key and certificate, signed by the site CA") { id, output };
        issue.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                SiteAuthority authority = LoadAuthority();
                string serial = authority.IssueGateway(parse.GetValue(id)!, parse.GetValue(output)!);
                Console.WriteLine($"발급됨 issued: {parse.GetValue(id)} serial {serial} → {parse.GetValue(output)}");
                return await AddClusterUserAsync(authority, parse.GetValue(id)!, cancellationToken);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }
        });
        var revokeId = new Argument<string>("gateway-id") { Description = "게이트웨이 ID gateway id" };
        var revoke = new Command("revoke", "게이트웨이 자격 증명 폐기 — revoke every certificate of a gateway (CRL), then reload the endpoint") { revokeId };
        revoke.SetAction(async (parse, cancellationToken) =>
        {
            SiteAuthority authority = LoadAuthority();
            IReadOnlyList<string> serials;
            try
            {
                serials = authority.RevokeGateway(parse.GetValue(revokeId)!);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }

            if (serials.Count == 0)
            {
                Console.Error.WriteLine("폐기할 인증서 없음 no unrevoked certificate issued to " + parse.GetValue(revokeId));
                return 1;
            }

            Console.WriteLine($"폐기됨 revoked: {parse.GetValue(revokeId)} serial {string.Join(", ", serials)}");
            return await ReloadAsync(authority, parse.GetValue(revokeId)!, cancellationToken);
        });
        return new Command("gateways", "게이트웨이 자격 증명 gateway credentials") { issue, revoke };
    }

    private static Command BridgesCommand()
    {
        var id = new Argument<string>("instance-id") { Description = "브리지 인스턴스 ID bridge instance id (its CloudBridge:InstanceId), e.g. a" };
        var output = new Option<string>("--out") { Description = "자격 증명을 쓸 디렉터리 directory for bridge.key, bridge.crt and ca.crt", Required = true };
        var issue = new Command("issue", "브리지 인스턴스 자격 증명 발급 — issue a bridge instance its own key and certificate (CN anshimi-cloud-bridge-<id>); then endpoint config again") { id, output };
        issue.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                string instance = parse.GetValue(id)!;
                SiteAuthority authority = LoadAuthority();
                string serial = authority.IssueBridge(instance, parse.GetValue(output)!);
                Console.WriteLine($"발급됨 issued: {SiteAuthority.BridgeInstanceIdentity(instance)} serial {serial} → {parse.GetValue(output)} (CloudBridge__InstanceId={instance})");
                return await AddClusterUserAsync(authority, SiteAuthority.BridgeInstanceIdentity(instance), cancellationToken);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }
        });
        var revokeId = new Argument<string>("instance-id") { Description = "브리지 인스턴스 ID bridge instance id" };
        var revoke = new Command("revoke", "브리지 인스턴스 자격 증명 폐기 — revoke every certificate of a bridge instance (CRL), then reload the endpoint") { revokeId };
        revoke.SetAction(async (parse, cancellationToken) =>
        {
            SiteAuthority authority = LoadAuthority();
            IReadOnlyList<string> serials;
            try
            {
                serials = authority.RevokeBridge(parse.GetValue(revokeId)!);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }

            if (serials.Count == 0)
            {
                Console.Error.WriteLine("폐기할 인증서 없음 no unrevoked certificate issued to bridge instance " + parse.GetValue(revokeId));
                return 1;
            }

            Console.WriteLine($"폐기됨 revoked: {SiteAuthority.BridgeInstanceIdentity(parse.GetValue(revokeId)!)} serial {string.Join(", ", serials)}");
            return await ReloadAsync(authority, SiteAuthority.BridgeInstanceIdentity(parse.GetValue(revokeId)!), cancellationToken);
        });
        return new Command("bridges", "브리지 인스턴스 자격 증명 bridge instance credentials (one per instance)") { issue, revoke };
    }

    /// <summary>Makes the endpoint apply a new CRL; on a cluster (<c>Sites:RabbitMqCtl</c>) also removes the <paramref name="revoked"/> identity's user and connections.</summary>
    private static async Task<int> ReloadAsync(SiteAuthority authority, string? revoked, CancellationToken cancellationToken)
    {
        if (revoked is not null && await authority.RemoveClusterUserAsync(revoked, cancellationToken) is var removed and not 0)
        {
            Console.Error.WriteLine($"클러스터 사용자 삭제 실패 removing {revoked} from the cluster failed (Sites:RabbitMqCtl exited {removed})");
            return 3;
        }

        int status = await authority.ReloadEndpointAsync(cancellationToken);
        if (status != 0)
        {
            Console.Error.WriteLine($"엔드포인트 재적재 실패 endpoint reload failed (Sites:ReloadCommand exited {status}); the new CRL applies at its next reload");
            return 3;
        }

        return 0;
    }

    private static async Task<int> AddClusterUserAsync(SiteAuthority authority, string identity, CancellationToken cancellationToken)
    {
        int status = await authority.AddClusterUserAsync(cancellationToken);
        if (status != 0)
        {
            Console.Error.WriteLine($"클러스터 사용자 추가 실패 adding {identity} to the cluster failed (Sites:RabbitMqCtl exited {status}); the certificate is issued, run it again or import the definitions");
            return 3;
        }

        return 0;
    }

    /// <summary>The site CA under the service's configuration (<c>Sites</c>, relative to <c>CloudBridge:DataDirectory</c>).</summary>
    private static SiteAuthority LoadAuthority()
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        SiteAuthorityOptions options = builder.Configuration.GetSection(SiteAuthorityOptions.SectionName).Get<SiteAuthorityOptions>() ?? new SiteAuthorityOptions();
        string dataDirectory = builder.Configuration.GetSection(CloudBridgeOptions.SectionName)[nameof(CloudBridgeOptions.DataDirectory)] ?? new CloudBridgeOptions().DataDirectory;
        return new SiteAuthority(Path.Combine(dataDirectory, options.CertificateDirectory), options, TimeProvider.System);
    }

    /// <summary>The service's own registrations and configuration (appsettings, environment), without starting it.</summary>
    private static ServiceProvider BuildServices()
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.AddCloudBridge();
        return (ServiceProvider)builder.Build().Services;
    }
}
