using Anshimi.Fuzz.Targets;
using Anshimi.Geo;

namespace Anshimi.Fuzz;

/// <summary>Every fuzz target, by name.</summary>
public static class FuzzTargets
{
    /// <summary>The targets; the CSV and app API targets check coordinates against Seoul's district boundaries.</summary>
    public static IReadOnlyList<IFuzzTarget> Create(string districtsFile)
    {
        SeoulDistricts districts = SeoulDistricts.Load(districtsFile);
        return
        [
            new DeviceFrameTarget(),
            new BleAdvertisementTarget(),
            new EnvelopeTarget(),
            new ProvisioningTarget(),
            new Dc09AnswerTarget(),
            new RegistryCsvTarget(districts),
            new AppApiTarget(districts),
        ];
    }
}
