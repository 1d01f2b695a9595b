using System.Text;
using Anshimi.Gateway.Provisioning;
using Anshimi.Gateway.Storage;
using Anshimi.Geo;
using static Anshimi.Fuzz.FuzzInvariantException;

namespace Anshimi.Fuzz.Targets;

/// <summary>
/// A district's registry CSV as the installer API imports it (UTF-8 text): parsed into rows, and each row's site
/// fields checked the way <see cref="Commissioning.ImportAsync"/> checks them before touching the registry.
/// </summary>
public sealed class RegistryCsvTarget(SeoulDistricts districts) : IFuzzTarget
{
    private readonly SiteRules _rules = new(districts);

    public void Run(byte[] input)
    {
        string text = Encoding.UTF8.GetString(input);
        var problems = new List<CsvProblem>();
        IReadOnlyList<CsvRow> rows = RegistryCsv.Parse(text, problems);
        Expect(problems.Count == 0 || rows.Count == 0, "a file with structural problems gives no rows");
        Expect(problems.All(p => p.Row >= 1 && p.Message.Length > 0), "every problem names its line and why");
        foreach (CsvRow row in rows)
        {
            Expect(RegistryCsv.ImportColumns.All(row.Fields.ContainsKey), "every row has the import columns");
            var fieldProblems = new List<FieldProblem>();
            SiteBinding? site = _rules.Check(
                row.Fields["site_kind"], row.Fields["address"], row.Fields["latitude"], row.Fields["longitude"], row.Fields["site_ref"],
                row.Fields.GetValueOrDefault("district_code"), fieldProblems);
            Expect((site is null) == (fieldProblems.Count > 0), "a site binding or the problems that refused it");
            Expect(site is null || districts.ByCode(site.DistrictCode) is not null, "a bound site lies in a known district");
        }
    }
}
