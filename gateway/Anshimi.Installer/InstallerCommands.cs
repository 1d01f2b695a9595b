using System.CommandLine;
using System.Globalization;
using System.Net;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Installer;

/// <summary>
/// The <c>anshimi-installer</c> commands. Output goes to the given writers (tests read them);
/// progress and results to <c>output</c>, errors to <c>error</c>; the exit status says what
/// happened (<see cref="ExitCodes"/>).
/// </summary>
public sealed class InstallerCommands(TextWriter output, TextWriter error)
{
    public const string DefaultGateway = "http://127.0.0.1:8081/";
    public const string DefaultTokenFile = "/var/lib/anshimi-gateway/admin.token";

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    private readonly Option<string> _gateway = new("--gateway")
    {
        Description = "게이트웨이 주소 gateway URL (env ANSHIMI_GATEWAY_URL)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ANSHIMI_GATEWAY_URL") ?? DefaultGateway,
    };

    private readonly Option<string> _tokenFile = new("--token-file")
    {
        Description = "관리자 토큰 파일 admin token file, root only (env ANSHIMI_ADMIN_TOKEN_FILE)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ANSHIMI_ADMIN_TOKEN_FILE") ?? DefaultTokenFile,
    };

    private readonly Option<string?> _lang = new("--lang") { Description = "표시 언어 language: ko (기본 default) | en", Recursive = true };

    public RootCommand Build()
    {
        var root = new RootCommand("안심이 설치기사 도구 — Anshimi installer: claim, bind, walk-test, replace devices on this gateway")
        {
            _gateway, _tokenFile, _lang,
            Discover(), Claim(), Bind(), Label(), WalkTest(), Replace(), Rekey(), Decommission(), Export(), Import(), List(), Firmware(),
        };
        _lang.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string?>();
            if (value is not null and not "ko" and not "en")
            {
                result.AddError("--lang must be ko or en");
            }
        });
        return root;
    }

    private static Argument<string> DeviceArgument(string name = "deviceId", string description = "장치 ID device id (8 hex, 라벨 label)")
    {
        var argument = new Argument<string>(name) { Description = description };
        argument.Validators.Add(result =>
        {
            if (!DeviceIdText.TryParse(result.GetValueOrDefault<string>() ?? "", out _))
            {
                result.AddError(name + " must be 8 hex digits, e.g. 0000B001");
            }
        });
        return argument;
    }

    private static string Id(string text) => DeviceIdText.TryParse(text, out uint id) ? DeviceIdText.Format(id) : text;

    private Command Discover()
    {
        var wait = new Option<int>("--wait") { Description = "찾을 때까지 기다릴 초 seconds to wait for a first device", DefaultValueFactory = _ => 0 };
        var command = new Command("discover", "주변 미등록 장치 찾기 — list unclaimed devices saying hello to this gateway") { wait };
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            DateTimeOffset deadline = DateTimeOffset.UtcNow.AddSeconds(Math.Max(0, parse.GetValue(wait)));
            List<UnclaimedInfo> devices = await client.UnclaimedAsync(ct);
            if (devices.Count == 0 && DateTimeOffset.UtcNow < deadline)
            {
                output.WriteLine(t["discover.waiting"]);
            }

            while (devices.Count == 0 && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(Poll, ct);
                devices = await client.UnclaimedAsync(ct);
            }

            if (devices.Count == 0)
            {
                output.WriteLine(t["discover.none"]);
                return parse.GetValue(wait) > 0 ? ExitCodes.TimedOut : ExitCodes.Ok;
            }

            output.WriteLine(t["discover.header"]);
            foreach (UnclaimedInfo device in devices)
            {
                int ago = (int)Math.Max(0, (DateTimeOffset.UtcNow - device.HeardAt).TotalSeconds);
                output.WriteLine("  " + device.DeviceId + "  " + device.Profile + "  fw " + device.FirmwareVersion + "  " + ago + (t.English ? " s ago" : "초 전"));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private Command Claim()
    {
        Argument<string> device = DeviceArgument();
        var code = new Option<string>("--code") { Description = "라벨 QR 코드 내용 또는 등록 코드 the label's scanned QR content, or its claim code", Required = true };
        var key = new Option<string?>("--key") { Description = "라벨의 공개키 (등록 코드를 직접 입력할 때) the label's public key, when the code is typed" };
        var timeout = new Option<int>("--timeout") { Description = "장치 접속 대기 초 seconds to wait for the device to connect", DefaultValueFactory = _ => 60 };
        var command = new Command("claim", "장치 등록 — claim a device with its label; issues its own key and broker account, sealed to the label's key") { device, code, key, timeout };
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            string id = Id(parse.GetValue(device)!);
            output.WriteLine("[1/2] " + t["claim.checking"]);
            DeviceInfo claimed = await client.ClaimAsync(id, parse.GetValue(code)!, parse.GetValue(key), ct);
            output.WriteLine("      " + t["claim.issued"] + " " + claimed.DeviceId + " " + claimed.Profile + " fw " + claimed.FirmwareVersion);
            output.WriteLine("[2/2] " + t["claim.waiting"]);
            DateTimeOffset deadline = DateTimeOffset.UtcNow.AddSeconds(parse.GetValue(timeout));
            while (DateTimeOffset.UtcNow < deadline)
            {
                if ((await client.DeviceAsync(id, ct)).LastSeen is not null)
                {
                    output.WriteLine("      " + t["claim.connected"]);
                    return ExitCodes.Ok;
                }

                await Task.Delay(Poll, ct);
            }

            error.WriteLine(t["claim.silent"]);
            return ExitCodes.TimedOut;
        }));
        return command;
    }

    private Command Bind()
    {
        Argument<string> device = DeviceArgument();
        var kind = new Option<string>("--kind") { Description = "설치 장소 종류 site kind: home | shop | pole", Required = true };
        kind.AcceptOnlyFromAmong("home", "shop", "pole");
        var address = new Option<string>("--address") { Description = "주소 address (이름·전화번호 금지 no names or phone numbers)", Required = true };
        var lat = new Option<string>("--lat") { Description = "위도 latitude, e.g. 37.5665", Required = true };
        var lon = new Option<string>("--lon") { Description = "경도 longitude, e.g. 126.9780", Required = true };
        var reference = new Option<string>("--ref") { Description = "가명 참조 코드 pseudonymous resident/shop reference, e.g. R-7F3K2Q", Required = true };
        var command = new Command("bind", "설치 장소 등록 — bind a device to a home, shop or pole inside Seoul") { device, kind, address, lat, lon, reference };
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            DeviceInfo bound = await client.BindAsync(
                Id(parse.GetValue(device)!), parse.GetValue(kind)!, parse.GetValue(address)!, parse.GetValue(lat)!, parse.GetValue(lon)!, parse.GetValue(reference)!, ct);
            output.WriteLine(t["bind.done"] + ": " + bound.DeviceId + " → " + bound.Site.Kind + ", " + bound.Site.Address
                + (t.English ? ", district " : ", 자치구 ") + bound.DistrictCode
                + (bound.Neighbourhood is { } dong ? (t.English ? ", neighbourhood " : ", 행정동 ") + dong.FullNameKo + " (" + dong.Code + ")" : "")
                + ", ref " + bound.SiteReference);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private Command Label()
    {
        Argument<string> device = DeviceArgument();
        var code = new Option<string?>("--code") { Description = "등록 코드 claim code (생략하면 새로 생성 new one when omitted)" };
        var key = new Option<string>("--key") { Description = "장치의 공장 공개키 the device's factory public key (64 hex digits)", Required = true };
        var svg = new Option<FileInfo?>("--svg") { Description = "라벨 프린터용 SVG 파일 write the QR code as SVG for a label printer" };
        var command = new Command("label", "라벨 인쇄 — print the QR code, claim code and public key for a device label") { device, code, key, svg };
        command.SetAction(parse => RunLocal(parse, t =>
        {
            string id = Id(parse.GetValue(device)!);
            string? typed = parse.GetValue(code);
            if (typed is null)
            {
                typed = ClaimCode.NewCode();
                output.WriteLine(t["label.new"]);
            }

            string normalized = ClaimCode.Normalize(typed, out string problem) ?? throw new FormatException("--code " + problem);
            byte[] publicKey = ClaimCode.PublicKey(parse.GetValue(key), out string keyProblem) ?? throw new FormatException("--key " + keyProblem);
            string payload = LabelPrinter.Payload(id, normalized, publicKey);
            output.WriteLine(LabelPrinter.Terminal(payload));
            output.WriteLine((t.English ? "Device " : "장치 ") + id);
            output.WriteLine((t.English ? "Claim code " : "등록 코드 ") + ClaimCode.Format(normalized));
            output.WriteLine((t.English ? "Key " : "공개키 ") + ClaimCode.FormatPublicKey(publicKey));
            output.WriteLine("QR " + payload);
            if (parse.GetValue(svg) is FileInfo file)
            {
                File.WriteAllText(file.FullName, LabelPrinter.Svg(payload));
                output.WriteLine(t["label.svg"] + ": " + file.FullName);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private Command WalkTest()
    {
        Argument<string> device = DeviceArgument();
        var timeout = new Option<int>("--timeout") { Description = "경보 대기 초 seconds to wait for the press", DefaultValueFactory = _ => 120 };
        var command = new Command("walk-test", "시험 — press the bell and see the alarm arrive, marked as a test") { device, timeout };
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            string id = Id(parse.GetValue(device)!);
            WalkTestStart start = await client.StartWalkTestAsync(id, ct);
            output.WriteLine(t["walk.start"]);
            DateTimeOffset deadline = DateTimeOffset.UtcNow.AddSeconds(parse.GetValue(timeout));
            try
            {
                while (DateTimeOffset.UtcNow < deadline)
                {
                    WalkTestInfo status = await client.WalkTestAsync(id, start.Since, ct);
                    if (status.Alarms.Count > 0)
                    {
                        WalkTestAlarmInfo alarm = status.Alarms[0];
                        output.WriteLine(t["walk.arrived"] + " (" + id + ":" + alarm.Counter.ToString(CultureInfo.InvariantCulture)
                            + ", Contact ID " + alarm.EventCode.ToString("000", CultureInfo.InvariantCulture) + ", test=" + (alarm.Test ? "true" : "false") + ")");
                        output.WriteLine(t["walk.passed"]);
                        return ExitCodes.Ok;
                    }

                    await Task.Delay(Poll, ct);
                }

                error.WriteLine(t["walk.timeout"]);
                return ExitCodes.TimedOut;
            }
            finally
            {
                await client.EndWalkTestAsync(id, CancellationToken.None);
            }
        }));
        return command;
    }

    private Command Replace()
    {
        Argument<string> old = DeviceArgument("oldDeviceId", "교체할 장치 the broken device");
        Argument<string> fresh = DeviceArgument("newDeviceId", "새 장치 (등록만 된 상태) the new, claimed device");
        var command = new Command("replace", "장치 교체 — move a site to a new device and revoke the old one") { old, fresh };
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            DeviceInfo moved = await client.ReplaceAsync(Id(parse.GetValue(old)!), Id(parse.GetValue(fresh)!), ct);
            output.WriteLine(t["replace.done"] + " " + Id(parse.GetValue(old)!) + " → " + moved.DeviceId + " (" + moved.Site.Address + ", " + moved.DistrictCode + ")");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private Command Rekey()
    {
        Argument<string> device = DeviceArgument();
        var command = new Command("rekey", "키 세대 교체 — move a device to a new key epoch (a suspected recording or tampering): everything recorded before is refused") { device };
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            RekeyStart started = await client.RekeyAsync(Id(parse.GetValue(device)!), ct);
            output.WriteLine(t["rekey.sent"] + " " + started.DeviceId + " → " + started.Epoch);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private Command Decommission()
    {
        Argument<string> device = DeviceArgument();
        var yes = new Option<bool>("--yes") { Description = "확인 confirm" };
        var command = new Command("decommission", "장치 해지 — take a device out of service and revoke its key and account") { device, yes };
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            if (!parse.GetValue(yes))
            {
                error.WriteLine(t["decommission.confirm"]);
                return ExitCodes.BadInput;
            }

            DeviceInfo row = await client.DecommissionAsync(Id(parse.GetValue(device)!), ct);
            output.WriteLine(t["decommission.done"] + " " + row.DeviceId);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private Command Export()
    {
        var csv = new Option<bool>("--csv") { Description = "CSV 형식 CSV format (the only one)", DefaultValueFactory = _ => true };
        var file = new Option<FileInfo?>("--out") { Description = "저장할 파일 output file (생략하면 표준 출력 stdout)" };
        var command = new Command("export", "장치 목록 내보내기 — the registry as CSV for the district's asset list (no keys)") { csv, file };
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            string text = await client.ExportCsvAsync(ct);
            if (parse.GetValue(file) is FileInfo target)
            {
                await File.WriteAllTextAsync(target.FullName, text, ct);
                output.WriteLine(t["export.done"] + ": " + target.FullName);
            }
            else
            {
                output.Write(text);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private Command Import()
    {
        var csv = new Option<FileInfo>("--csv") { Description = "가져올 CSV 파일 CSV file (device_id, site_kind, address, latitude, longitude, site_ref)", Required = true };
        var command = new Command("import", "장치 목록 가져오기 — update sites from CSV; all rows or none") { csv };
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            string text = await File.ReadAllTextAsync(parse.GetValue(csv)!.FullName, ct);
            int imported = await client.ImportCsvAsync(text, ct);
            output.WriteLine(t["import.done"] + ": " + imported);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private Command List()
    {
        var command = new Command("list", "장치 목록 — every device in this gateway's registry");
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            List<DeviceInfo> devices = await client.DevicesAsync(ct);
            if (devices.Count == 0)
            {
                output.WriteLine(t["list.none"]);
            }

            foreach (DeviceInfo d in devices)
            {
                string seen = d.LastSeen?.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-";
                output.WriteLine(d.DeviceId + "  " + t.State(d.State) + "  " + d.Profile + "  fw " + (d.FirmwareVersion ?? "-") + "  " + d.Site.Kind + "  " +
                    (d.DistrictCode ?? "-") + "  " + d.Site.Address + "  " + seen);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private Command Firmware()
    {
        var device = new Argument<string?>("deviceId") { Description = "장치 ID device id (생략하면 전체 all when omitted)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("firmware", "펌웨어 버전과 갱신 상태 — each device's firmware version and update state, and this site's summary") { device };
        command.SetAction((parse, ct) => RunAsync(parse, async (client, t) =>
        {
            string? only = parse.GetValue(device) is { } text ? Id(text) : null;
            List<DeviceInfo> devices = [.. (await client.DevicesAsync(ct)).Where(d => d.State is "active" or "claimed" && (only is null || d.DeviceId == only))];
            if (only is not null && devices.Count == 0)
            {
                error.WriteLine(t["error.prefix"] + ": " + t["code.not_found"]);
                return ExitCodes.Refused;
            }

            Dictionary<string, FirmwareInfo> states = (await client.FirmwareAsync(ct)).ToDictionary(f => f.DeviceId, StringComparer.OrdinalIgnoreCase);
            output.WriteLine(t["firmware.header"]);
            var versions = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var updates = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (DeviceInfo d in devices)
            {
                FirmwareInfo? state = states.GetValueOrDefault(d.DeviceId);
                string version = state?.RunningVersion ?? d.FirmwareVersion ?? "-";
                string update = state is null ? t.UpdateState("idle", null) : t.UpdateState(state.State, state.Reason);
                string progress = state is { State: "downloading" or "offered", ChunkCount: > 0 } ? "  " + state.ChunksDone + "/" + state.ChunkCount : "";
                string release = state?.ReleaseId is { } id ? "  " + t["firmware.release"] + " " + id : "";
                output.WriteLine("  " + d.DeviceId + "  " + d.Profile + "  fw " + version + "  " + update + progress + release);
                versions[version] = versions.GetValueOrDefault(version) + 1;
                string key = state?.State ?? "idle";
                updates[key] = updates.GetValueOrDefault(key) + 1;
            }

            output.WriteLine(t["firmware.summary"] + " (" + devices.Count + "): " +
                string.Join(", ", versions.Select(v => "fw " + v.Key + " ×" + v.Value)) + "; " +
                string.Join(", ", updates.Select(u => t.UpdateState(u.Key, null) + " ×" + u.Value)));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private int RunLocal(ParseResult parse, Func<Texts, int> action)
    {
        Texts t = Texts.Choose(parse.GetValue(_lang));
        try
        {
            return action(t);
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine(t["error.prefix"] + ": " + ex.Message);
            return ExitCodes.BadInput;
        }
    }

    /// <summary>Runs an action against the gateway, turning every failure into a message and an exit status.</summary>
    private async Task<int> RunAsync(ParseResult parse, Func<GatewayAdminClient, Texts, Task<int>> action)
    {
        Texts t = Texts.Choose(parse.GetValue(_lang));
        string token;
        try
        {
            token = (await File.ReadAllTextAsync(parse.GetValue(_tokenFile)!)).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine(t["error.token"] + ": " + ex.Message);
            return ExitCodes.Unreachable;
        }

        if (!Uri.TryCreate(parse.GetValue(_gateway), UriKind.Absolute, out Uri? gateway))
        {
            error.WriteLine(t["error.prefix"] + ": --gateway " + parse.GetValue(_gateway));
            return ExitCodes.BadInput;
        }

        using var client = new GatewayAdminClient(gateway, token);
        try
        {
            return await action(client, t);
        }
        catch (GatewayRefusal refusal)
        {
            error.WriteLine(t["error.prefix"] + ": " + t.Error(refusal.Code, refusal.Message) + (t.English ? "" : " (" + refusal.Message + ")"));
            foreach (ProblemInfo p in refusal.Problems)
            {
                string where = p.Row is int row ? "  " + t["row"] + " " + row + ", " + t["column"] + " " + (p.Column ?? "") + ": " : "  " + (p.Field ?? p.Column) + ": ";
                error.WriteLine(where + p.Message + " (" + p.Code + ")");
            }

            return refusal.Status switch
            {
                HttpStatusCode.BadRequest => ExitCodes.BadInput,
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden when refusal.Code is "unauthorized" or "forbidden" => ExitCodes.Unreachable,
                HttpStatusCode.BadGateway => ExitCodes.BrokerRefused,
                _ => ExitCodes.Refused,
            };
        }
        catch (HttpRequestException ex)
        {
            error.WriteLine(t["error.unreachable"] + " (" + gateway + "): " + ex.Message);
            return ExitCodes.Unreachable;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            error.WriteLine(t["error.prefix"] + ": " + ex.Message);
            return ExitCodes.BadInput;
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Cancelled;
        }
    }
}
