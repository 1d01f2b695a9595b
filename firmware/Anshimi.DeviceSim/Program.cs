using System.CommandLine;
using System.Globalization;
using System.Net;
using Anshimi.DeviceSim;
using Anshimi.Geo;
using Anshimi.Protocol.Upstream.Provisioning;

const string DefaultControl = "127.0.0.1:7080";

var fleetPath = new Option<FileInfo>("--fleet") { Description = "장치 목록 파일 fleet file (JSON)", Required = true };
var controlOption = new Option<string>("--control") { Description = "제어 API 주소 control API address host:port", DefaultValueFactory = _ => DefaultControl };

// fleet
var countOption = new Option<int>("--count") { Description = "장치 수 number of devices", DefaultValueFactory = _ => 25 };
var gatewayOption = new Option<string>("--gateway-id") { Description = "게이트웨이 ID gateway id", Required = true };
var districtsOption = new Option<FileInfo>("--districts") { Description = "서울 자치구 GeoJSON (seoul-municipalities.geojson)", Required = true };
var outOption = new Option<FileInfo>("--out") { Description = "출력 파일 output file", Required = true };
var seedOption = new Option<int?>("--seed") { Description = "위치 재현용 시드 seed for repeatable ids and places (keys stay random)" };
var profilesOption = new Option<string?>("--profiles") { Description = "장치 종류 device profiles, taking turns: home,shop,voice,battery,doorbell (스마트초인종) (default: 70% home, 30% shop bells)" };
var streetlightsOption = new Option<int>("--streetlights") { Description = "스마트보안등 수 number of streetlights added after the bells", DefaultValueFactory = _ => 0 };
var streetOption = new Option<string?>("--street") { Description = "보안등 거리 시작점 lat,lon: streetlights stand in a row from here, 30 m apart, running east (default: spread over the districts)" };
var securityLightsOption = new Option<FileInfo?>("--security-lights") { Description = "보안등 파일 a district's security-lights file (gwangjin-security-lights.csv): the streetlights stand at its lights nearest --near" };
var nearOption = new Option<string?>("--near") { Description = "보안등 동네 중심 lat,lon of the lit neighbourhood (default 37.5445,127.0700, 광진구 화양동)" };
var fleetCommand = new Command("fleet", "모의 장치 목록 생성 — generate a fleet of simulated bells (and streetlights) in real districts")
{
    countOption, gatewayOption, districtsOption, outOption, seedOption, streetlightsOption, profilesOption, streetOption, securityLightsOption, nearOption,
};
fleetCommand.SetAction(parse => Run(() =>
{
    SeoulDistricts districts = SeoulDistricts.Load(parse.GetValue(districtsOption)!.FullName);
    string[]? profiles = parse.GetValue(profilesOption)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    (double, double)? street = parse.GetValue(streetOption) is string text ? LatLon(text, "--street") : null;
    int streetlights = parse.GetValue(streetlightsOption);
    IReadOnlyList<Anshimi.Protocol.Upstream.SiteInfo>? sites = null;
    if (parse.GetValue(securityLightsOption) is FileInfo securityLights)
    {
        (double, double) near = parse.GetValue(nearOption) is string centre ? LatLon(centre, "--near") : LitNeighbourhood.DefaultCentre;
        sites = LitNeighbourhood.Pick(securityLights.FullName, near, streetlights);
    }

    FleetFile fleet = FleetGenerator.Generate(parse.GetValue(countOption), parse.GetValue(gatewayOption)!, districts, parse.GetValue(seedOption), streetlights, profiles, street, sites);
    string path = parse.GetValue(outOption)!.FullName;
    fleet.Save(path);
    Console.WriteLine("장치 " + fleet.Devices.Count + "대 생성: " + path + " (" + fleet.Devices.Count + " devices written, mode 0600)");
    return 0;
}));

// broker-auth
var serviceOption = new Option<string[]>("--service") { Description = "서비스 계정 service account name:password (repeatable)", DefaultValueFactory = _ => [] };
var outDirOption = new Option<DirectoryInfo>("--out-dir") { Description = "출력 폴더 output directory", Required = true };
var listenerPortOption = new Option<int?>("--listeners-port") { Description = "이 포트의 박스 브로커 리스너 설정 listeners.conf: the box broker's listeners and client-id rule, devices on 127.0.0.1 at this port" };
var brokerAuthCommand = new Command("broker-auth", "브로커 계정·ACL 파일 생성 — write mosquitto passwd and acl files, and the dynamic-security commands, for a fleet")
{
    fleetPath, serviceOption, outDirOption, listenerPortOption,
};
brokerAuthCommand.SetAction(parse => Run(() =>
{
    FleetFile fleet = FleetFile.Load(parse.GetValue(fleetPath)!.FullName);
    ServiceUser[] services = parse.GetValue(serviceOption)!.Select(ServiceUser.Parse).ToArray();
    string dir = parse.GetValue(outDirOption)!.FullName;
    BrokerAuth.Write(fleet, services, dir, parse.GetValue(listenerPortOption));
    Console.WriteLine("passwd, acl, " + BrokerAuth.DynamicSecurityFile + " 작성: " + dir + " (" + fleet.Devices.Count + " devices, " + services.Length
        + " services; hash with: mosquitto_passwd -U passwd, or send " + BrokerAuth.DynamicSecurityFile + " as the dynamic-security admin with scripts/dynsec-apply.py)");
    return 0;
}));

// run
var brokerOption = new Option<string>("--broker") { Description = "MQTT 브로커 broker host:port", DefaultValueFactory = _ => "127.0.0.1:1883" };
var stateOption = new Option<DirectoryInfo>("--state") { Description = "장치 플래시 상태 폴더 per-device flash state directory", Required = true };
var limitOption = new Option<int?>("--limit") { Description = "앞에서부터 N대만 실행 run only the first N devices" };
var runDistrictsOption = new Option<FileInfo?>("--districts") { Description = "자치구 이름 표시용 GeoJSON (optional, for district names)" };
var escortKeyOption = new Option<string?>("--escort-key") { Description = "귀가 마스터 키 the cloud bridge's escort master secret (Escorts:EscortKey), 64 hex digits; the walkers seal with it, and without --airspace each streetlight is given its district's key from it (with a gateway, the gateway delivers it) (random when omitted)" };
var airspaceOption = new Option<string?>("--airspace") { Description = "게이트웨이 BLE 모의 공간 the gateway's simulated BLE airspace hub host:port (its Gateway:Ble:AirspaceEndpoint); streetlights join it" };
var factoryReleaseOption = new Option<FileInfo[]>("--factory-release") { Description = "공장 출하 릴리스 a signed release (.arel, from anshimi-release pack) in slot a of every Wi-Fi bell, doorbell or streetlight whose board and profile it fits: those devices run the loader and take updates (repeatable, one per board)", DefaultValueFactory = _ => [] };
var releaseKeyOption = new Option<string[]>("--release-key") { Description = "로더가 신뢰하는 릴리스 공개 키 a release public key the loader trusts, 64 hex or a .pub file (repeatable; with --factory-release)", DefaultValueFactory = _ => [] };
var runCommand = new Command("run", "장치 시뮬레이터 실행 — run every bell (against a broker) and streetlight (on a simulated BLE air) of the fleet, with a local control API")
{
    fleetPath, brokerOption, stateOption, controlOption, limitOption, runDistrictsOption, escortKeyOption, airspaceOption, factoryReleaseOption, releaseKeyOption,
};
runCommand.SetAction((parse, cancellationToken) => RunAsync(async () =>
{
    FleetFile fleet = FleetFile.Load(parse.GetValue(fleetPath)!.FullName);
    (string host, int port) = HostPort(parse.GetValue(brokerOption)!, "--broker");
    IPEndPoint control = Endpoint(parse.GetValue(controlOption)!);
    FileInfo? districtFile = parse.GetValue(runDistrictsOption);
    SeoulDistricts? districts = districtFile is null ? null : SeoulDistricts.Load(districtFile.FullName);
    IEnumerable<DeviceRecord> records = fleet.Devices;
    if (parse.GetValue(limitOption) is int limit)
    {
        records = records.Take(limit);
    }

    string? escortKeyHex = parse.GetValue(escortKeyOption);
    if (escortKeyHex is not null && (escortKeyHex.Length != 64 || !escortKeyHex.All(char.IsAsciiHexDigit)))
    {
        throw new FormatException("--escort-key must be 64 hex digits (a 32-byte key)");
    }

    IPEndPoint? airspace = parse.GetValue(airspaceOption) is string hub ? AirspaceLink.ParseHub(hub) : null;
    SimulatedFirmwareOptions? firmware = SimulatedFirmwareOptions.FromFiles([.. parse.GetValue(factoryReleaseOption)!.Select(f => f.FullName)], parse.GetValue(releaseKeyOption)!);
    var log = TextWriter.Synchronized(Console.Out);
    await using SimulatedFleet simulated = SimulatedFleet.Start(records, host, port, parse.GetValue(stateOption)!.FullName, log,
        escortKey: escortKeyHex is null ? null : Convert.FromHexString(escortKeyHex), airspace: airspace, firmware: firmware);
    using var server = new ControlServer(simulated, districts, control);
    log.WriteLine("장치 " + simulated.Devices.Count + "대, 보안등 " + simulated.Lights.Count + "대 실행 중, 브로커 " + host + ":" + port + ", 제어 API http://" + control
        + "/devices, /lights  (running " + simulated.Devices.Count + " bells and " + simulated.Lights.Count + " streetlights; Ctrl-C to stop)");
    await server.RunAsync(cancellationToken);
    log.WriteLine("종료 중 stopping: 연결을 닫습니다 (disconnecting)");
    return 0;
}));

// unclaimed
var idOption = new Option<string>("--device-id") { Description = "장치 ID device id (8 hex)", Required = true };
var claimOption = new Option<string>("--claim-code") { Description = "라벨의 등록 코드 claim code from the label", Required = true };
var profileOption = new Option<string>("--profile") { Description = "장치 종류 profile (home, shop, voice)", DefaultValueFactory = _ => "home" };
var firmwareOption = new Option<string>("--firmware") { Description = "펌웨어 버전 firmware version", DefaultValueFactory = _ => "1.0.0" };
var unclaimedCommand = new Command("unclaimed", "미등록 장치 실행 — run one factory-fresh bell: hello until claimed, then a normal bell")
{
    idOption, claimOption, profileOption, firmwareOption, brokerOption, stateOption, controlOption,
};
unclaimedCommand.SetAction((parse, cancellationToken) => RunAsync(async () =>
{
    string idText = parse.GetValue(idOption)!;
    if (!Anshimi.Protocol.DeviceIdText.TryParse(idText, out uint deviceId))
    {
        throw new FormatException("--device-id must be 8 hex digits: " + idText);
    }

    byte[] privateKey = FactoryKey.LoadOrCreate(parse.GetValue(stateOption)!.FullName, Anshimi.Protocol.DeviceIdText.Format(deviceId));
    var identity = new FactoryIdentity(deviceId, parse.GetValue(claimOption)!, privateKey, parse.GetValue(profileOption)!, parse.GetValue(firmwareOption)!);
    (string host, int port) = HostPort(parse.GetValue(brokerOption)!, "--broker");
    IPEndPoint control = Endpoint(parse.GetValue(controlOption)!);
    var log = TextWriter.Synchronized(Console.Out);
    await using SimulatedFleet simulated = await UnclaimedDevice.ProvisionAndStartAsync(identity, host, port, parse.GetValue(stateOption)!.FullName, log, cancellationToken);
    using var server = new ControlServer(simulated, null, control);
    log.WriteLine("장치 " + identity + " 실행 중, 제어 API http://" + control + "/devices (running; Ctrl-C to stop)");
    await server.RunAsync(cancellationToken);
    return 0;
}));

// factory
var factoryCommand = new Command("factory", "공장 키 생성 — make a device's factory key pair in its flash (kept if present) and print the public key for its label")
{
    idOption, stateOption,
};
factoryCommand.SetAction(parse => Run(() =>
{
    string idText = parse.GetValue(idOption)!;
    if (!Anshimi.Protocol.DeviceIdText.TryParse(idText, out uint deviceId))
    {
        throw new FormatException("--device-id must be 8 hex digits: " + idText);
    }

    byte[] privateKey = FactoryKey.LoadOrCreate(parse.GetValue(stateOption)!.FullName, Anshimi.Protocol.DeviceIdText.Format(deviceId));
    Console.WriteLine(Convert.ToHexString(new FactoryIdentity(deviceId, "", privateKey, "", "").PublicKey));
    return 0;
}));

// press
var deviceArgument = new Argument<string>("deviceId") { Description = "장치 ID device id (8 hex)" };
var holdOption = new Option<int>("--hold-ms") { Description = "누르는 시간 how long to hold the button (ms)", DefaultValueFactory = _ => ControlServer.DefaultHoldMs };
var pressCommand = new Command("press", "비상벨 누르기 — press a simulated bell and follow its LED")
{
    deviceArgument, controlOption, holdOption,
};
pressCommand.SetAction((parse, cancellationToken) => RunAsync(async () =>
{
    using var client = new ControlClient(Endpoint(parse.GetValue(controlOption)!), Console.Out);
    return await client.PressAsync(parse.GetValue(deviceArgument)!, parse.GetValue(holdOption), TimeSpan.FromSeconds(10), cancellationToken);
}));

// escort
var secondsOption = new Option<int>("--seconds") { Description = "지나가는 시간 how long the walker stays near the light (s)", DefaultValueFactory = _ => 60 };
var lightArgument = new Argument<string>("lightId") { Description = "보안등 ID streetlight id (8 hex)" };
var escortCommand = new Command("escort", "귀가모니터링 보행자 통과 — walk past a simulated streetlight with the app's escort advertisement")
{
    lightArgument, controlOption, secondsOption,
};
escortCommand.SetAction((parse, cancellationToken) => RunAsync(async () =>
{
    using var client = new ControlClient(Endpoint(parse.GetValue(controlOption)!), Console.Out);
    return await client.EscortAsync(parse.GetValue(lightArgument)!, parse.GetValue(secondsOption), cancellationToken);
}));

// walk / report-emergency: the Anshimi app's back end against the cloud bridge's app API
var cloudOption = new Option<string>("--cloud") { Description = "클라우드 브리지 주소 cloud bridge URL", DefaultValueFactory = _ => "http://127.0.0.1:18080/" };
var apiKeyOption = new Option<string>("--api-key") { Description = "앱 API 키 the app back end's API key", Required = true };
var fromOption = new Option<string>("--from") { Description = "출발 origin lat,lon", Required = true };
var toOption = new Option<string>("--to") { Description = "도착 destination lat,lon", Required = true };
var speedOption = new Option<double>("--speed") { Description = "걷는 속도 walking speed (m/s); more to fast-forward", DefaultValueFactory = _ => 1.4 };
var everyOption = new Option<double>("--every") { Description = "위치 보고 간격 seconds between location reports", DefaultValueFactory = _ => 2 };
var alongOption = new Option<FileInfo?>("--along") { Description = "보안등을 따라 걷기 a fleet file: walk pole to pole along its streetlights instead of in a straight line" };
var walkCommand = new Command("walk", "귀가모니터링 — walk home from one point to another under return-home monitoring, as the Anshimi app reports it")
{
    cloudOption, apiKeyOption, fromOption, toOption, speedOption, everyOption, alongOption,
};
walkCommand.SetAction((parse, cancellationToken) => RunAsync(async () =>
{
    double speed = parse.GetValue(speedOption);
    double every = parse.GetValue(everyOption);
    if (speed is <= 0 or > 50 || every is <= 0 or > 60)
    {
        throw new FormatException("--speed must be in (0, 50] m/s and --every in (0, 60] s");
    }

    (double, double) from = LatLon(parse.GetValue(fromOption)!, "--from");
    (double, double) to = LatLon(parse.GetValue(toOption)!, "--to");
    IReadOnlyList<(double Lat, double Lon)> route = parse.GetValue(alongOption) is FileInfo along
        ? WalkRoute.AlongLights([.. FleetFile.Load(along.FullName).Devices.Where(d => d.Profile == StreetlightFleet.Profile).Select(d => (d.Site.Latitude, d.Site.Longitude))], from, to)
        : [from, to];
    using HttpClient cloud = AppWalker.Client(CloudUri(parse.GetValue(cloudOption)!), parse.GetValue(apiKeyOption)!);
    return await CloudCall(() => new AppWalker(cloud, Console.Out).WalkAsync(route, speed, TimeSpan.FromSeconds(every), cancellationToken));
}));
var atOption = new Option<string>("--at") { Description = "위치 location lat,lon", Required = true };
var reportCommand = new Command("report-emergency", "긴급신고 — report an emergency at a location, as the Anshimi app does")
{
    cloudOption, apiKeyOption, atOption,
};
reportCommand.SetAction((parse, cancellationToken) => RunAsync(async () =>
{
    using HttpClient cloud = AppWalker.Client(CloudUri(parse.GetValue(cloudOption)!), parse.GetValue(apiKeyOption)!);
    return await CloudCall(() => new AppWalker(cloud, Console.Out).ReportEmergencyAsync(LatLon(parse.GetValue(atOption)!, "--at"), cancellationToken));
}));

// status
var optionalDevice = new Argument<string?>("deviceId") { Description = "장치 ID device id (생략하면 전체 all when omitted)", Arity = ArgumentArity.ZeroOrOne };
var statusCommand = new Command("status", "장치 상태 보기 — show the simulated bells")
{
    optionalDevice, controlOption,
};
statusCommand.SetAction((parse, cancellationToken) => RunAsync(async () =>
{
    using var client = new ControlClient(Endpoint(parse.GetValue(controlOption)!), Console.Out);
    return await client.StatusAsync(parse.GetValue(optionalDevice), cancellationToken);
}));

// speak, tamper, mains, battery
var commandIdOption = new Option<byte>("--command") { Description = "음성 명령어 번호 voice command id (5 살려주세요 help → 120, 6 약속한 암호 code word → 121)", DefaultValueFactory = _ => 5 };
var speakCommand = new Command("speak", "음성인식 비상벨에 말하기 — the voice module recognises a keyword") { deviceArgument, controlOption, commandIdOption };
speakCommand.SetAction((parse, cancellationToken) => Change(parse, "speak", () => "command=" + parse.GetValue(commandIdOption), cancellationToken));

var stateArgument = new Argument<string>("state") { Description = "open | close, off | on" };
var tamperCommand = new Command("tamper", "덮개 열기/닫기 — open or close the lid (tamper switch): open | close") { deviceArgument, stateArgument, controlOption };
tamperCommand.SetAction((parse, cancellationToken) => Change(parse, "tamper", () => "open=" + OnOff(parse.GetValue(stateArgument)!, "open", "close"), cancellationToken));
var mainsCommand = new Command("mains", "전원 차단/복구 — cut or restore mains power: off | on") { deviceArgument, stateArgument, controlOption };
mainsCommand.SetAction((parse, cancellationToken) => Change(parse, "mains", () => "on=" + OnOff(parse.GetValue(stateArgument)!, "on", "off"), cancellationToken));
var percentOption = new Option<int>("--percent") { Description = "배터리 잔량 battery level 0–100", Required = true };
var batteryCommand = new Command("battery", "배터리 잔량 설정 — drain (or refill) the battery") { deviceArgument, controlOption, percentOption };
batteryCommand.SetAction((parse, cancellationToken) => Change(parse, "battery", () => "percent=" + parse.GetValue(percentOption), cancellationToken));

// doorbell actions
var doorbellArgument = new Argument<string>("deviceId") { Description = "초인종 ID doorbell id (8 hex)" };
var ringCommand = new Command("ring", "초인종 누르기 — ring a simulated doorbell") { doorbellArgument, controlOption };
ringCommand.SetAction((parse, cancellationToken) => DoorbellAction(parse.GetValue(doorbellArgument)!, "ring", parse.GetValue(controlOption)!, cancellationToken));
var motionState = new Argument<string>("state") { Description = "start 움직임 시작 / stop 움직임 끝" };
motionState.AcceptOnlyFromAmong("start", "stop");
var motionCommand = new Command("motion", "움직임 감지 시작·끝 — start or stop motion in front of a simulated doorbell") { doorbellArgument, motionState, controlOption };
motionCommand.SetAction((parse, cancellationToken) => DoorbellAction(parse.GetValue(doorbellArgument)!, "motion?state=" + parse.GetValue(motionState), parse.GetValue(controlOption)!, cancellationToken));
var emergencyCommand = new Command("emergency", "실내 비상 버튼 누르기 — press a simulated doorbell's inside emergency button") { doorbellArgument, controlOption, holdOption };
emergencyCommand.SetAction((parse, cancellationToken) => DoorbellAction(parse.GetValue(doorbellArgument)!, "emergency?holdMs=" + parse.GetValue(holdOption), parse.GetValue(controlOption)!, cancellationToken));

var root = new RootCommand("안심이 장치 시뮬레이터 — Anshimi device simulator (panic bells, doorbells, streetlights, and the app back end)")
{
    fleetCommand, brokerAuthCommand, runCommand, factoryCommand, unclaimedCommand, pressCommand, escortCommand, statusCommand, speakCommand, tamperCommand, mainsCommand, batteryCommand, ringCommand, motionCommand, emergencyCommand,
    walkCommand, reportCommand,
};
return await root.Parse(args).InvokeAsync();

Task<int> Change(ParseResult parse, string action, Func<string> query, CancellationToken cancellationToken) => RunAsync(async () =>
{
    string text = query();
    using var client = new ControlClient(Endpoint(parse.GetValue(controlOption)!), Console.Out);
    return await client.ChangeAsync(parse.GetValue(deviceArgument)!, action, text, cancellationToken);
});

Task<int> DoorbellAction(string id, string action, string controlText, CancellationToken cancellationToken) => RunAsync(async () =>
{
    using var client = new ControlClient(Endpoint(controlText), Console.Out);
    return await client.DoorbellAsync(id, action, cancellationToken);
});

static string OnOff(string state, string yes, string no) =>
    state == yes ? "true" : state == no ? "false" : throw new FormatException("state must be " + yes + " or " + no + ", got " + state);

static int Run(Func<int> action) => RunAsync(() => Task.FromResult(action())).GetAwaiter().GetResult();

static async Task<int> RunAsync(Func<Task<int>> action)
{
    try
    {
        return await action();
    }
    catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException or ArgumentException)
    {
        await Console.Error.WriteLineAsync("오류 error: " + ex.Message);
        return 1;
    }
    catch (HttpRequestException ex)
    {
        await Console.Error.WriteLineAsync("시뮬레이터에 연결할 수 없습니다 (cannot reach the simulator's control API): " + ex.Message);
        return 1;
    }
    catch (OperationCanceledException)
    {
        return 130;
    }
}

static async Task<int> CloudCall(Func<Task<int>> call)
{
    try
    {
        return await call();
    }
    catch (HttpRequestException ex)
    {
        await Console.Error.WriteLineAsync("클라우드 브리지에 연결할 수 없습니다 (cannot reach the cloud bridge): " + ex.Message);
        return 1;
    }
}

static Uri CloudUri(string text) =>
    Uri.TryCreate(text.EndsWith('/') ? text : text + "/", UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        ? uri
        : throw new FormatException("--cloud must be an http(s) URL such as http://127.0.0.1:18080/ — got " + text);

static (double Latitude, double Longitude) LatLon(string text, string option)
{
    string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
    return parts.Length == 2
        && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double lat) && lat is >= -90 and <= 90
        && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double lon) && lon is >= -180 and <= 180
        ? (lat, lon)
        : throw new FormatException(option + " must be latitude,longitude, e.g. 37.5663,126.9779 — got " + text);
}

static (string Host, int Port) HostPort(string text, string option)
{
    int colon = text.LastIndexOf(':');
    if (colon <= 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
    {
        throw new FormatException(option + " must be host:port, e.g. 127.0.0.1:1883 — got " + text);
    }

    return (text[..colon], port);
}

static IPEndPoint Endpoint(string text)
{
    (string host, int port) = HostPort(text, "--control");
    return IPAddress.TryParse(host, out IPAddress? address)
        ? new IPEndPoint(address, port)
        : throw new FormatException("--control must be an IP address and port, e.g. " + DefaultControl + " — got " + text);
}
