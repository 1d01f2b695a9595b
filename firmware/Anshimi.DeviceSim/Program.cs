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
var profileOption = new Option<string?>("--profile") { Description = "모든 장치의 프로필 every device's profile (e.g. doorbell 스마트초인종); default a mix of home and shop bells" };
var fleetCommand = new Command("fleet", "모의 장치 목록 생성 — generate a fleet of simulated bells in real districts")
{
    countOption, gatewayOption, districtsOption, outOption, seedOption, profileOption,
};
fleetCommand.SetAction(parse => Run(() =>
{
    SeoulDistricts districts = SeoulDistricts.Load(parse.GetValue(districtsOption)!.FullName);
    FleetFile fleet = FleetGenerator.Generate(parse.GetValue(countOption), parse.GetValue(gatewayOption)!, districts, parse.GetValue(seedOption), parse.GetValue(profileOption));
    string path = parse.GetValue(outOption)!.FullName;
    fleet.Save(path);
    Console.WriteLine("장치 " + fleet.Devices.Count + "대 생성: " + path + " (" + fleet.Devices.Count + " devices written, mode 0600)");
    return 0;
}));

// broker-auth
var serviceOption = new Option<string[]>("--service") { Description = "서비스 계정 service account name:password (repeatable)", DefaultValueFactory = _ => [] };
var outDirOption = new Option<DirectoryInfo>("--out-dir") { Description = "출력 폴더 output directory", Required = true };
var brokerAuthCommand = new Command("broker-auth", "브로커 계정·ACL 파일 생성 — write mosquitto passwd and acl files for a fleet")
{
    fleetPath, serviceOption, outDirOption,
};
brokerAuthCommand.SetAction(parse => Run(() =>
{
    FleetFile fleet = FleetFile.Load(parse.GetValue(fleetPath)!.FullName);
    ServiceUser[] services = parse.GetValue(serviceOption)!.Select(ServiceUser.Parse).ToArray();
    string dir = parse.GetValue(outDirOption)!.FullName;
    BrokerAuth.Write(fleet, services, dir);
    Console.WriteLine("passwd, acl 작성: " + dir + " (" + fleet.Devices.Count + " devices, " + services.Length + " services; hash with: mosquitto_passwd -U passwd)");
    return 0;
}));

// run
var brokerOption = new Option<string>("--broker") { Description = "MQTT 브로커 broker host:port", DefaultValueFactory = _ => "127.0.0.1:1883" };
var stateOption = new Option<DirectoryInfo>("--state") { Description = "장치 플래시 상태 폴더 per-device flash state directory", Required = true };
var limitOption = new Option<int?>("--limit") { Description = "앞에서부터 N대만 실행 run only the first N devices" };
var runDistrictsOption = new Option<FileInfo?>("--districts") { Description = "자치구 이름 표시용 GeoJSON (optional, for district names)" };
var runCommand = new Command("run", "장치 시뮬레이터 실행 — run every bell of the fleet against a broker, with a local control API")
{
    fleetPath, brokerOption, stateOption, controlOption, limitOption, runDistrictsOption,
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

    var log = TextWriter.Synchronized(Console.Out);
    await using SimulatedFleet simulated = SimulatedFleet.Start(records, host, port, parse.GetValue(stateOption)!.FullName, log);
    using var server = new ControlServer(simulated, districts, control);
    log.WriteLine("장치 " + simulated.Devices.Count + "대 실행 중, 브로커 " + host + ":" + port + ", 제어 API http://" + control + "/devices  (running "
        + simulated.Devices.Count + " bells; Ctrl-C to stop)");
    await server.RunAsync(cancellationToken);
    log.WriteLine("종료 중 stopping: 연결을 닫습니다 (disconnecting)");
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

var root = new RootCommand("안심이 비상벨 장치 시뮬레이터 — Anshimi panic-bell device simulator")
{
    fleetCommand, brokerAuthCommand, runCommand, pressCommand, statusCommand, ringCommand, motionCommand, emergencyCommand,
};
return await root.Parse(args).InvokeAsync();

Task<int> DoorbellAction(string id, string action, string controlText, CancellationToken cancellationToken) => RunAsync(async () =>
{
    using var client = new ControlClient(Endpoint(controlText), Console.Out);
    return await client.DoorbellAsync(id, action, cancellationToken);
});

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
