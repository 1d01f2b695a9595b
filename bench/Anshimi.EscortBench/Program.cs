using System.Diagnostics;
using System.Globalization;
using Anshimi.Bench;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Streetlights;
using Anshimi.Geo;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

// Usage: dotnet run --project bench/Anshimi.EscortBench -c Release -- [lights=20000] [sessions=2000] [rounds=100]
// Runs the synthetic city of that many lights, then the real one (Seoul's streetlights and 광진구's security lights).
int lightCount = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
int sessionCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2_000;
int rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;
const double StepMetres = 2.8; // 1.4 m/s walking, one fix every 2 s
const int Seed = 1;

var seoul = SeoulDistricts.Load(Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"escort planner: {sessionCount} sessions, {rounds} rounds, {Environment.ProcessorCount} cores"));

var built = Stopwatch.StartNew();
IReadOnlyList<Streetlight> synthetic = StreetlightGenerator.Generate(seoul, new StreetlightLayout { Seed = Seed, TotalLights = lightCount });
double generatedSeconds = built.Elapsed.TotalSeconds;
built.Restart();
var syntheticDirectory = new StreetlightDirectory(synthetic);
double syntheticIndexSeconds = built.Elapsed.TotalSeconds;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"synthetic city: {synthetic.Count} lights ({Gateways(synthetic)} gateways), generated in {generatedSeconds:F2} s, STR-tree built in {syntheticIndexSeconds * 1000:F0} ms"));

// The real city as the bridge loads it at start: both files read, checked and imported, then indexed.
string[] realFiles = [Path.Combine(RepoPaths.SharedData, "seoul-streetlights.csv"), Path.Combine(RepoPaths.SharedData, "gwangjin-security-lights.csv")];
built.Restart();
IReadOnlyList<Streetlight> real = StreetlightFile.Read(realFiles, new DistrictDirectory(seoul));
double importSeconds = built.Elapsed.TotalSeconds;
built.Restart();
var realDirectory = new StreetlightDirectory(real);
double realIndexSeconds = built.Elapsed.TotalSeconds;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"real city: {real.Count} lights ({Gateways(real)} gateways), files read and imported in {importSeconds * 1000:F0} ms, STR-tree built in {realIndexSeconds * 1000:F0} ms"));

CityResult syntheticResult = Measure(syntheticDirectory);
CityResult realResult = Measure(realDirectory);

Console.WriteLine();
Console.WriteLine("| measurement | synthetic city | real city |");
Console.WriteLine("| --- | --- | --- |");
Console.WriteLine($"| lights (gateways) | {synthetic.Count:N0} ({Gateways(synthetic)}) | {real.Count:N0} ({Gateways(real)}) |");
Console.WriteLine($"| baseline: bare STR-tree query, lights within 30 m | {Micros(syntheticResult.Baseline)} | {Micros(realResult.Baseline)} |");
Console.WriteLine($"| location update → planner done (every update) | {Micros(syntheticResult.Update)} | {Micros(realResult.Update)} |");
Console.WriteLine($"| location update → light commands issued (updates that issued any) | {Micros(syntheticResult.Commands)} | {Micros(realResult.Commands)} |");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| location updates per second, {Environment.ProcessorCount} threads | {syntheticResult.UpdatesPerSecond:N0} | {realResult.UpdatesPerSecond:N0} |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| baseline queries per second, same threads | {syntheticResult.BaselinePerSecond:N0} | {realResult.BaselinePerSecond:N0} |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| light commands issued (one per gateway and mode), for light changes | {syntheticResult.CommandsIssued:N0}, {syntheticResult.LightChanges:N0} | {realResult.CommandsIssued:N0}, {realResult.LightChanges:N0} |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| lights held at the end | {syntheticResult.HeldAtEnd:N0} | {realResult.HeldAtEnd:N0} |"));
return 0;

CityResult Measure(StreetlightDirectory directory)
{
    IReadOnlyList<Streetlight> lights = directory.All;

    // Each walker follows a route from one pole to another 300–600 m away in the same cluster, over two legs.
    var random = new Random(Seed);
    var byGateway = lights.GroupBy(l => l.GatewayId).Select(g => g.ToArray()).ToArray();
    var walkers = new Walker[sessionCount];
    for (int s = 0; s < sessionCount; s++)
    {
        Streetlight[] cluster = byGateway[random.Next(byGateway.Length)];
        Streetlight from = cluster[random.Next(cluster.Length)];
        (double fx, double fy) = LocalProjection.ToMetres(from.Latitude, from.Longitude);
        double angle = random.NextDouble() * Math.PI * 2;
        double length = 300 + (random.NextDouble() * 300);
        (double cx, double cy) = (fx + (Math.Cos(angle) * length / 2), fy + (Math.Sin(angle) * length / 2));
        double turn = angle + ((random.Next(2) * 2) - 1) * Math.PI / 2;
        (double tx, double ty) = (cx + (Math.Cos(turn) * length / 2), cy + (Math.Sin(turn) * length / 2));
        walkers[s] = new Walker((uint)(0x10000000 + s), [(fx, fy), (cx, cy), (tx, ty)]);
    }

    // Simulated time: two seconds per round, so holds are refreshed as in a real walk.
    var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 21, 0, 0, TimeSpan.Zero));
    var publisher = new TimingPublisher();
    var planner = new EscortPlanner(directory, publisher, Options.Create(new EscortOptions()), clock);
    foreach (Walker walker in walkers)
    {
        planner.Begin(walker.Id, walker.Route.Select(p => ToGeo(p.X, p.Y)).ToList());
    }

    var updateSamples = new double[rounds * sessionCount];
    var commandSamples = new List<double>[Environment.ProcessorCount];
    var baselineSamples = new double[rounds * sessionCount];
    for (int i = 0; i < commandSamples.Length; i++)
    {
        commandSamples[i] = [];
    }

    // Warm-up (not measured): JIT and the first claims, one round.
    RunRound(-1);
    publisher.Reset();

    var wall = Stopwatch.StartNew();
    for (int round = 0; round < rounds; round++)
    {
        RunRound(round);
    }

    wall.Stop();
    long updates = (long)rounds * sessionCount;

    // Baseline in the same run: the bare STR-tree query (lights within 30 m) at the same positions, same threads.
    var baselineWall = Stopwatch.StartNew();
    for (int round = 0; round < rounds; round++)
    {
        int r = round;
        Parallel.For(0, sessionCount, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => new List<int>(), (s, _, found) =>
        {
            (double x, double y) = walkers[s].PositionAt((r + 1) * StepMetres);
            found.Clear();
            long t0 = Stopwatch.GetTimestamp();
            directory.Within(x, y, 30, found);
            baselineSamples[(r * sessionCount) + s] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            return found;
        }, _ => { });
    }

    baselineWall.Stop();
    return new CityResult(
        new Percentiles(baselineSamples), new Percentiles(updateSamples), new Percentiles(commandSamples.SelectMany(c => c)),
        updates / wall.Elapsed.TotalSeconds, updates / baselineWall.Elapsed.TotalSeconds,
        publisher.Commands, publisher.Lights, walkers.Sum(w => planner.LitFor(w.Id).Count));

    void RunRound(int round)
    {
        double walked = (round + 1) * StepMetres;
        Parallel.For(0, sessionCount, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, s =>
        {
            (double x, double y) = walkers[s].PositionAt(walked);
            GeoPoint p = ToGeo(x, y);
            TimingPublisher.LastPublish = 0;
            long t0 = Stopwatch.GetTimestamp();
            planner.Update(walkers[s].Id, p.Latitude, p.Longitude);
            long done = Stopwatch.GetTimestamp();
            if (round < 0)
            {
                return;
            }

            updateSamples[(round * sessionCount) + s] = Stopwatch.GetElapsedTime(t0, done).TotalMilliseconds;
            if (TimingPublisher.LastPublish != 0)
            {
                List<double> samples = commandSamples[Environment.CurrentManagedThreadId % commandSamples.Length];
                lock (samples)
                {
                    samples.Add(Stopwatch.GetElapsedTime(t0, TimingPublisher.LastPublish).TotalMilliseconds);
                }
            }
        });
        clock.Advance(TimeSpan.FromSeconds(2));
        planner.RefreshHeld();
    }
}

static int Gateways(IReadOnlyList<Streetlight> lights) => lights.Select(l => l.GatewayId).Distinct().Count();

// Microseconds: the planner's figures are far below the millisecond resolution of Percentiles.Describe.
static string Micros(Percentiles p) => string.Create(
    CultureInfo.InvariantCulture, $"n={p.Count,6}  p50={p[50] * 1000,7:F1} µs  p99={p[99] * 1000,7:F1} µs  max={p.Max * 1000,9:F1} µs");

static GeoPoint ToGeo(double x, double y)
{
    (double lat, double lon) = LocalProjection.ToDegrees(x, y);
    return new GeoPoint(lat, lon);
}

/// <summary>One city's figures.</summary>
internal sealed record CityResult(
    Percentiles Baseline, Percentiles Update, Percentiles Commands, double UpdatesPerSecond, double BaselinePerSecond, long CommandsIssued, long LightChanges, int HeldAtEnd);

/// <summary>A walker on a polyline route in metres.</summary>
internal sealed record Walker(uint Id, (double X, double Y)[] Route)
{
    public (double X, double Y) PositionAt(double walked)
    {
        for (int i = 0; i < Route.Length - 1; i++)
        {
            double length = Planar.Distance(Route[i].X, Route[i].Y, Route[i + 1].X, Route[i + 1].Y);
            if (walked <= length)
            {
                double t = walked / length;
                return (Route[i].X + (t * (Route[i + 1].X - Route[i].X)), Route[i].Y + (t * (Route[i + 1].Y - Route[i].Y)));
            }

            walked -= length;
        }

        return Route[^1];
    }
}

/// <summary>The command publisher interface's far side: notes when the last command of an update was handed over.</summary>
internal sealed class TimingPublisher : ILightCommandPublisher
{
    [ThreadStatic]
    public static long LastPublish;

    private long _commands;
    private long _lights;

    public long Commands => Interlocked.Read(ref _commands);

    public long Lights => Interlocked.Read(ref _lights);

    public void Publish(string gatewayId, LightCommandEnvelope command)
    {
        LastPublish = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _commands);
        Interlocked.Add(ref _lights, command.Lights.Count);
    }

    public void Reset()
    {
        Interlocked.Exchange(ref _commands, 0);
        Interlocked.Exchange(ref _lights, 0);
    }
}
