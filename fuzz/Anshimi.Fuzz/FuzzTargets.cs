using Anshimi.Fuzz.Targets;
using Anshimi.Geo;

namespace Anshimi.Fuzz;

/// <summary>Every fuzz target by name: the name on the command line and its folder under fuzz/corpus and fuzz/regressions.</summary>
public static class FuzzTargets
{
    public static readonly IReadOnlyList<string> Names =
        ["device-frame", "ble-advertisement", "envelope", "provisioning", "dc09-answer", "registry-csv", "app-api", "release"];

    /// <summary>
    /// The target called <paramref name="name"/>; the CSV and app API targets check coordinates against Seoul's district
    /// boundaries in <paramref name="districtsFile"/>. Under afl-fuzz this runs inside the fuzzing loop: instrumented
    /// code must not run before SharpFuzz has mapped afl's coverage memory.
    /// </summary>
    public static IFuzzTarget Create(string name, string districtsFile) => name switch
    {
        "device-frame" => new DeviceFrameTarget(),
        "ble-advertisement" => new BleAdvertisementTarget(),
        "envelope" => new EnvelopeTarget(),
        "provisioning" => new ProvisioningTarget(),
        "dc09-answer" => new Dc09AnswerTarget(),
        "registry-csv" => new RegistryCsvTarget(SeoulDistricts.Load(districtsFile)),
        "app-api" => new AppApiTarget(SeoulDistricts.Load(districtsFile)),
        "release" => new ReleaseTarget(),
        _ => throw new ArgumentException("no fuzz target " + name + "; targets: " + string.Join(", ", Names), nameof(name)),
    };
}
