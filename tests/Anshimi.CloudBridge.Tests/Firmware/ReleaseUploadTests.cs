using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Api;
using Anshimi.CloudBridge.Firmware;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Firmware;

/// <summary>
/// Uploading a release through the real HTTP API: only central staff, only a release that verifies under a configured
/// release key; every refusal is counted by reason and audited.
/// </summary>
[Trait("Category", "Ota")]
public sealed class ReleaseUploadTests : IAsyncLifetime, IDisposable
{
    private readonly ReleaseKey _key = ReleaseKey.Generate();
    private readonly ReleaseKey _otherKey = ReleaseKey.Generate();
    private CloudBridgeHost _host = null!;

    public async Task InitializeAsync() => _host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), TestFirmware.Settings(_key));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public void Dispose()
    {
        _key.Dispose();
        _otherKey.Dispose();
    }

    [Fact]
    public async Task Central_staff_upload_a_signed_release_once_and_the_upload_is_audited()
    {
        byte[] release = TestFirmware.Release(_key);

        using HttpResponseMessage first = await UploadAsync(_host.Http, release);
        using HttpResponseMessage again = await UploadAsync(_host.Http, release);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        ReleaseView view = (await first.Content.ReadFromJsonAsync<ReleaseView>())!;
        Assert.Equal(("1.1.0", 5, "central"), (view.Version, view.ChunkCount, view.UploadedBy));
        Assert.Equal(ReleaseFile.Read(release)!.Image[1024..2048], await _host.Services.GetRequiredService<FirmwareStore>().ReadChunkAsync(view.ReleaseId, 1, CancellationToken.None));
        List<ReleaseView> listed = (await _host.Http.GetFromJsonAsync<List<ReleaseView>>(new Uri("/api/firmware/releases", UriKind.Relative)))!;
        Assert.Equal([view.ReleaseId], listed.Select(r => r.ReleaseId));
        Assert.Equal(2, (await AuditAsync(FirmwareReleases.UploadedAction)).Count(row => row.Target == view.ReleaseId));
    }

    [Fact]
    public async Task A_changed_manifest_an_untrusted_key_and_a_changed_chunk_are_refused_counted_and_audited()
    {
        byte[] changedManifest = TestFirmware.Release(_key);
        changedManifest[ReleaseFile.HeaderLength + 18] ^= 1;
        byte[] changedChunk = TestFirmware.Release(_key);
        changedChunk[^10] ^= 1;

        Assert.Equal(ReleaseRefusal.BadSignature, await RefusalAsync(changedManifest));
        Assert.Equal(ReleaseRefusal.UnknownKey, await RefusalAsync(TestFirmware.Release(_otherKey)));
        Assert.Equal(ReleaseRefusal.BadChunk, await RefusalAsync(changedChunk));
        Assert.Equal(ReleaseRefusal.BadFile, await RefusalAsync([1, 2, 3]));

        IReadOnlyDictionary<string, long> refused = _host.Services.GetRequiredService<FirmwareReleases>().Refused;
        Assert.Equal(1, refused[ReleaseRefusal.BadSignature]);
        Assert.Equal(1, refused[ReleaseRefusal.UnknownKey]);
        Assert.Equal(1, refused[ReleaseRefusal.BadChunk]);
        List<AuditRecordView> audited = await AuditAsync(FirmwareReleases.RefusedAction);
        Assert.Equal(
            [ReleaseRefusal.BadChunk, ReleaseRefusal.BadFile, ReleaseRefusal.BadSignature, ReleaseRefusal.UnknownKey],
            audited.Select(row => row.Outcome).Order());
        Assert.Empty((await _host.Http.GetFromJsonAsync<List<ReleaseView>>(new Uri("/api/firmware/releases", UriKind.Relative)))!);
        string metrics = await _host.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("anshimi_cloud_bridge_firmware_refused_total{reason=\"bad_signature\"", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_district_operator_can_neither_upload_nor_run_rollouts_but_sees_the_firmware_of_their_districts()
    {
        using HttpClient gangnam = await _host.SignedInAsync(TestOperators.Gangnam);
        await _host.BindAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xA001, 1, TestAlarms.GangnamGuOffice));
        await _host.BindAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xA002, 1, TestAlarms.JongnoGuOffice));

        using HttpResponseMessage upload = await UploadAsync(gangnam, TestFirmware.Release(_key));
        using HttpResponseMessage start = await gangnam.PostAsJsonAsync(new Uri("/api/firmware/rollouts", UriKind.Relative),
            new { releaseId = "0000000000000000", canary = new[] { "0000A001" }, districtCode = TestOperators.GangnamCode });
        using HttpResponseMessage list = await gangnam.GetAsync(new Uri("/api/firmware/rollouts", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, upload.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, start.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        Assert.Empty((await _host.Http.GetFromJsonAsync<List<ReleaseView>>(new Uri("/api/firmware/releases", UriKind.Relative)))!);
        List<DeviceFirmwareView> devices = (await gangnam.GetFromJsonAsync<List<DeviceFirmwareView>>(new Uri("/api/firmware/devices", UriKind.Relative)))!;
        Assert.Equal(["0000A001"], devices.Select(d => d.DeviceId));
        Assert.Equal("unknown", devices[0].State);
    }

    [Theory]
    [InlineData(300)]
    [InlineData(FirmwareReleases.MaxManifestBytes)]
    public void An_offer_of_the_largest_manifest_with_its_devices_fits_one_envelope(int manifestBytes)
    {
        int devices = FirmwareRollouts.DevicesPerOffer(manifestBytes);
        var offer = new Protocol.Upstream.FirmwareOfferEnvelope("r-20261207045959-abcdef", "0011223344556677", new byte[manifestBytes],
            new string('a', 128), [.. Enumerable.Range(0, devices).Select(i => Protocol.DeviceIdText.Format((uint)i))], DateTimeOffset.UtcNow);

        Assert.InRange(devices, 300, 500);
        Assert.True(Protocol.Upstream.EnvelopeSerializer.Serialize(offer).Length <= Protocol.Upstream.EnvelopeSerializer.MaxEnvelopeBytes);
    }

    private async Task<string?> RefusalAsync(byte[] release)
    {
        using HttpResponseMessage response = await UploadAsync(_host.Http, release);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using JsonDocument problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return problem.RootElement.GetProperty("reason").GetString();
    }

    private static Task<HttpResponseMessage> UploadAsync(HttpClient client, byte[] release)
    {
        var content = new ByteArrayContent(release);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return client.PostAsync(new Uri("/api/firmware/releases", UriKind.Relative), content);
    }

    private async Task<List<AuditRecordView>> AuditAsync(string action) =>
        [.. (await _host.Http.GetFromJsonAsync<List<AuditRecordView>>(new Uri("/api/audit?limit=500", UriKind.Relative)))!.Where(row => row.Action == action)];
}
