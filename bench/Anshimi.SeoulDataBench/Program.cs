using System.Diagnostics;
using System.Globalization;
using Anshimi.Bench;
using Anshimi.CloudBridge.Cameras;
using Anshimi.CloudBridge.Districts;
using Anshimi.Geo;
using Anshimi.Testing;
using Microsoft.Extensions.Options;

// Usage: dotnet run --project bench/Anshimi.SeoulDataBench -c Release -- [loads=5] [lookups=100000]
int loads = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
int lookups = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
string districtsFile = Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson");
string dongsFile = Path.Combine(RepoPaths.SharedData, "seoul-admin-dongs-2021.geojson");
string camerasFile = Path.Combine(RepoPaths.SharedData, "seoul-anshimi-cctv.csv");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Seoul data: {loads} loads of each file, {lookups} lookups of each kind, {Environment.ProcessorCount} cores"));

// Start-up: each file read, checked and indexed as the bridge does at start; the first load also pays for JIT.
var districtLoads = new List<double>();
var dongLoads = new List<double>();
var cameraLoads = new List<double>();
var totalLoads = new List<double>();
SeoulDistricts districts = null!;
SeoulNeighbourhoods dongs = null!;
AnshimiCameras cameras = null!;
for (int i = 0; i <= loads; i++)
{
    long start = Stopwatch.GetTimestamp();
    districts = SeoulDistricts.Load(districtsFile);
    long afterDistricts = Stopwatch.GetTimestamp();
    dongs = SeoulNeighbourhoods.Load(dongsFile);
    long afterDongs = Stopwatch.GetTimestamp();
    cameras = AnshimiCameras.Load(camerasFile, districts);
    long end = Stopwatch.GetTimestamp();
    string first = i == 0 ? " (first, with JIT)" : "";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  load {i}{first}: districts {Ms(start, afterDistricts):F1} ms, dongs {Ms(afterDistricts, afterDongs):F1} ms, cameras {Ms(afterDongs, end):F1} ms, total {Ms(start, end):F1} ms"));
    if (i > 0)
    {
        districtLoads.Add(Ms(start, afterDistricts));
        dongLoads.Add(Ms(afterDistricts, afterDongs));
        cameraLoads.Add(Ms(afterDongs, end));
        totalLoads.Add(Ms(start, end));
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"load, median of {loads} after the first: districts (25) {Median(districtLoads):F1} ms, dongs (425) {Median(dongLoads):F1} ms, cameras ({cameras.All.Count}) {Median(cameraLoads):F1} ms, total {Median(totalLoads):F1} ms"));

// Lookups at places around real camera points (where alarms happen: streets, alleys), seeded.
var random = new Random(16);
var places = new (double Lat, double Lon)[lookups];
for (int i = 0; i < lookups; i++)
{
    AnshimiCamera near = cameras.All[random.Next(cameras.All.Count)];
    places[i] = (near.Latitude + ((random.NextDouble() - 0.5) * 0.004), near.Longitude + ((random.NextDouble() - 0.5) * 0.004));
}

var nearby = new NearbyCameras(cameras, Options.Create(new CameraOptions()));
var directory = new DistrictDirectory(districts, dongs);
string[] gwangjinOnly = ["11215"];
int sink = 0;
Measure("camera index query (bare: box of 150 m, no distances)", p => sink += cameras.CountCandidates(p.Lat, p.Lon, 150));
Measure("nearest cameras (150 m, at most 10, sorted)", p => sink += cameras.Nearby(p.Lat, p.Lon, 150, 10).Count);
Measure("alarm detail cameras (NearbyCameras.Around, central)", p => sink += nearby.Around(p.Lat, p.Lon, static _ => true).Count);
Measure("alarm detail cameras (NearbyCameras.Around, one district)", p => sink += nearby.Around(p.Lat, p.Lon, gwangjinOnly.Contains).Count);
Measure("dong index query (bare: boxes holding the point)", p => sink += dongs.CountCandidates(p.Lat, p.Lon));
Measure("dong lookup (polygon test)", p => sink += dongs.Locate(p.Lat, p.Lon) is null ? 0 : 1);
Measure("district + dong of a site (DistrictDirectory.Locate)", p => sink += directory.Locate(p.Lat, p.Lon).NeighbourhoodCode is null ? 0 : 1);
Console.WriteLine("(checksum " + sink.ToString(CultureInfo.InvariantCulture) + ")");

void Measure(string name, Action<(double Lat, double Lon)> lookup)
{
    // Warm-up (not measured): JIT and caches, a tenth of the places.
    for (int i = 0; i < places.Length / 10; i++)
    {
        lookup(places[i]);
    }

    var samples = new double[places.Length];
    for (int i = 0; i < places.Length; i++)
    {
        long start = Stopwatch.GetTimestamp();
        lookup(places[i]);
        samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1000;
    }

    var p = new Percentiles(samples);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {name,-60} p50 {p[50],7:F2} µs  p99 {p[99],7:F2} µs  mean {samples.Average(),7:F2} µs"));
}

static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

static double Median(List<double> values) => new Percentiles(values)[50];
