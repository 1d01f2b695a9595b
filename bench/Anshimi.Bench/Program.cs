using System.Globalization;
using Anshimi.Bench;

// Usage: dotnet run --project bench/Anshimi.Bench -c Release -- latency [devices] [alarms] [alarms-per-second]
//        dotnet run --project bench/Anshimi.Bench -c Release -- heartbeats [devices] [seconds-per-phase]
//        dotnet run --project bench/Anshimi.Bench -c Release -- sites [bells-per-box] [alarms] [alarms-per-second] [walks]
//        dotnet run --project bench/Anshimi.Bench -c Release -- broker-failover rabbitmq|nats [runs] [messages] [messages-per-second]
//        dotnet run --project bench/Anshimi.Bench -c Release -- failover [boxes] [bells-per-box] [alarms] [alarms-per-second] [down-seconds]
//        dotnet run --project bench/Anshimi.Bench -c Release -- city [gateways] [devices-per-gateway] [seconds] [alarms-per-second] [status-seconds]
//        dotnet run --project bench/Anshimi.Bench -c Release -- resolve [frames]
//        dotnet run --project bench/Anshimi.Bench -c Release -- ota [bells] [image-kib]
switch (args.FirstOrDefault())
{
    case "latency":
    {
        int devices = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
        int alarms = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1000;
        double rate = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 50;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        return await new LatencyBenchmark(devices, alarms, rate).RunAsync(cts.Token);
    }

    case "heartbeats":
    {
        int devices = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
        int seconds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        return await new HeartbeatBenchmark(devices, TimeSpan.FromSeconds(seconds)).RunAsync(cts.Token);
    }

    case "sites":
    {
        int bells = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        int alarms = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 600;
        double rate = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 20;
        int walks = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 5;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        return await new SitesBenchmark(bells, alarms, rate, walks).RunAsync(cts.Token);
    }

    case "broker-failover" when args.Length > 1:
    {
        int runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 6;
        int messages = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 300;
        double rate = args.Length > 4 ? double.Parse(args[4], CultureInfo.InvariantCulture) : 30;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        var options = new Anshimi.Testing.BrokerFailoverTrialOptions { Messages = messages, MessagesPerSecond = rate, KillAfter = messages / 3 };
        return await new BrokerFailoverBenchmark(args[1], runs, options).RunAsync(cts.Token);
    }

    case "failover":
    {
        int boxes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        int bells = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        int alarms = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 300;
        double rate = args.Length > 4 ? double.Parse(args[4], CultureInfo.InvariantCulture) : 10;
        double down = args.Length > 5 ? double.Parse(args[5], CultureInfo.InvariantCulture) : 5;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        return await new FailoverBenchmark(boxes, bells, alarms, rate, TimeSpan.FromSeconds(down)).RunAsync(cts.Token);
    }

    case "city":
    {
        int gateways = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
        int devices = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 50;
        double seconds = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 180;
        double rate = args.Length > 4 ? double.Parse(args[4], CultureInfo.InvariantCulture) : 10;
        double status = args.Length > 5 ? double.Parse(args[5], CultureInfo.InvariantCulture) : 20;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds) + TimeSpan.FromMinutes(30));
        return await new CityBenchmark(gateways, devices, TimeSpan.FromSeconds(seconds), rate, TimeSpan.FromSeconds(status)).RunAsync(cts.Token);
    }
    case "resolve":
        return new ResolveBenchmark([100, 1_000, 5_000], args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2_000).Run();

    case "ota":
    {
        int bells = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
        int imageKib = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 64;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(40));
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        return await new OtaBenchmark(bells, imageKib).RunAsync(cts.Token);
    }

    case "ota-host" when args.Length == 7:
        return await OtaDeviceHost.RunAsync(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), args[4], args[5], args[6]);

    case "device-host" when args.Length == 4:
        return await DeviceHost.RunAsync(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture));

    default:
        Console.Error.WriteLine("usage: Anshimi.Bench latency [devices=1000] [alarms=1000] [alarms-per-second=50]");
        Console.Error.WriteLine("       Anshimi.Bench heartbeats [devices=10000] [seconds-per-phase=20]");
        Console.Error.WriteLine("       Anshimi.Bench sites [bells-per-box=20] [alarms=600] [alarms-per-second=20] [walks=5]");
        Console.Error.WriteLine("       Anshimi.Bench broker-failover rabbitmq|nats [runs=6] [messages=300] [messages-per-second=30]");
        Console.Error.WriteLine("       Anshimi.Bench failover [boxes=2] [bells-per-box=20] [alarms=300] [alarms-per-second=10] [down-seconds=5]");
        Console.Error.WriteLine("       Anshimi.Bench city [gateways=200] [devices-per-gateway=50] [seconds=180] [alarms-per-second=10] [status-seconds=20]");
        Console.Error.WriteLine("       Anshimi.Bench resolve [frames=2000]");
        Console.Error.WriteLine("       Anshimi.Bench ota [bells=1000] [image-kib=64]");
        return 2;
}
