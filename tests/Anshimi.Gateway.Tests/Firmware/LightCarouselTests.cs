using Anshimi.Ble;
using Anshimi.Ble.Simulation;
using Anshimi.Gateway.Ble;
using Anshimi.Gateway.Tests.Ble;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests.Firmware;

/// <summary>
/// Streetlights updated over the air by the gateway's BLE carousel (protocol/README.md §11.9): the real gateway on the
/// simulated air, the cloud's offer and parts through its command handling, and lights running their own controller,
/// loader, update client and carousel receiver on real flash directories.
/// </summary>
[Trait("Category", "Ota")]
public sealed class LightCarouselTests : IAsyncLifetime
{
    private CarouselRig _rig = null!;

    public async Task InitializeAsync() => _rig = await CarouselRig.StartAsync(lights: 3);

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task One_carousel_updates_every_light_of_the_board_and_stops_when_all_are_confirmed()
    {
        var release = new LightRelease(_rig.Key, "1.1.0", 3000);
        await _rig.OfferAsync(release, _rig.Lights);

        await _rig.RunAsync(TimeSpan.FromHours(1), until: () => _rig.Lights.All(l => _rig.LastStateOf(l) == "confirmed"));

        foreach (FirmwareLight light in _rig.Lights)
        {
            Assert.Equal("confirmed", _rig.LastStateOf(light));
            Assert.Equal("1.1.0", light.Loader.ActiveVersion.ToString());
            Assert.False(light.Loader.OnTrial);

            // Every step reached the cloud, in order (with 12 chunks no downloading report is due).
            string[] states = [.. _rig.StatesOf(light).Select(s => s.State).Where(s => s is not ("idle" or "downloading")).Distinct()];
            Assert.Equal(["offered", "verified", "activating", "trial", "confirmed"], states);
            Assert.All(_rig.StatesOf(light).Where(s => s.State != "idle"), s => Assert.Equal(release.Id, s.ReleaseId));
            Assert.Equal("1.1.0", _rig.StatesOf(light)[^1].RunningVersion);
            Assert.Equal("streetlight", _rig.StatesOf(light)[^1].Board);
            Assert.Equal(0, light.Updates.Receiver.RejectedForged);
        }

        // One image over the cloud link for the whole board, and nothing left on air once every light is done.
        Assert.Equal(release.Manifest.ChunkCount, _rig.Gateway.Harness.Get<Anshimi.Gateway.Firmware.FirmwareDistribution>().ChunksFetched);
        await _rig.RunAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(0, _rig.Carousel.Count);
        Assert.Null(_rig.Gateway.Harness.Get<BleBroadcaster>().OnAir);
    }

    [Fact]
    public async Task A_light_that_hears_its_neighbours_canary_downloads_but_switches_only_when_its_own_stage_offers_it()
    {
        var release = new LightRelease(_rig.Key, "1.1.0", 3000);
        FirmwareLight canary = _rig.Lights[0];
        FirmwareLight later = _rig.Lights[1];

        // The canary stage: the release is offered to one light, and the carousel is heard by all of them.
        await _rig.OfferAsync(release, [canary]);
        await _rig.RunAsync(TimeSpan.FromHours(1), until: () => _rig.LastStateOf(canary) == "confirmed" && later.Updates.Client.Verified, eachDwell: () =>
            Assert.Equal(1, later.Boots));

        Assert.Equal("confirmed", _rig.LastStateOf(canary));
        Assert.Equal("1.1.0", canary.Loader.ActiveVersion.ToString());
        Assert.True(later.Updates.Client.Verified, "the neighbour downloaded the release from the canary's carousel");
        Assert.Equal(0, later.Updates.Receiver.RejectedForged);

        // The canary's carousel stops; the neighbour waits on its old version with its download verified.
        await _rig.RunAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(0, _rig.Carousel.Count);
        Assert.Equal(1, later.Boots);
        Assert.Equal("1.0.0", later.Loader.ActiveVersion.ToString());
        Assert.True(later.Updates.Client.Verified);
        Assert.DoesNotContain(_rig.StatesOf(later), s => s.ReleaseId == release.Id);

        // Its own stage: the gateway finds it verified and it switches within the first round, downloading nothing again.
        int roundsBefore = _rig.Carousel.Rounds;
        int? switchedInRound = null;
        await _rig.OfferAsync(release, [later]);
        await _rig.RunAsync(TimeSpan.FromHours(1), until: () => _rig.LastStateOf(later) == "confirmed", eachDwell: () =>
            switchedInRound ??= later.Boots > 1 ? _rig.Carousel.Rounds - roundsBefore : null);

        Assert.Equal("confirmed", _rig.LastStateOf(later));
        Assert.Equal("1.1.0", later.Loader.ActiveVersion.ToString());
        Assert.InRange(switchedInRound ?? int.MaxValue, 0, 1);
        string[] states = [.. _rig.StatesOf(later).Where(s => s.ReleaseId == release.Id).Select(s => s.State).Distinct()];
        Assert.Equal(["verified", "activating", "trial", "confirmed"], states);
        Assert.Equal(release.Manifest.ChunkCount, _rig.Gateway.Harness.Get<Anshimi.Gateway.Firmware.FirmwareDistribution>().ChunksFetched);
    }

    [Fact]
    public async Task A_light_that_misses_rounds_completes_from_later_ones()
    {
        var release = new LightRelease(_rig.Key, "1.1.0", 3000);
        FirmwareLight deaf = _rig.Lights[1];

        // The light hears nothing the gateway sends for the first 150 transmissions to it: more than a round.
        _rig.Gateway.Air.AddRule(AirspaceRule.DropFirst(150, from: BleGateway.GatewayAddress, to: BleGateway.AddressOf(_rig.Gateway.Lights[1])));
        await _rig.OfferAsync(release, _rig.Lights);
        int? othersVerifiedInRound = null;
        int? deafVerifiedInRound = null;
        await _rig.RunAsync(TimeSpan.FromHours(1), until: () => _rig.Lights.All(l => _rig.LastStateOf(l) == "confirmed"), eachDwell: () =>
        {
            othersVerifiedInRound ??= _rig.Lights[0].Updates.Client.Verified ? _rig.Carousel.Rounds : null;
            deafVerifiedInRound ??= deaf.Updates.Client.Verified ? _rig.Carousel.Rounds : null;
        });

        Assert.All(_rig.Lights, l => Assert.Equal("confirmed", _rig.LastStateOf(l)));
        Assert.True(_rig.Gateway.Air.Dropped >= 150);
        Assert.NotNull(othersVerifiedInRound);
        Assert.NotNull(deafVerifiedInRound);
        Assert.True(deafVerifiedInRound > othersVerifiedInRound, "the deaf light took what it missed from a later round");
        Assert.Equal("1.1.0", deaf.Loader.ActiveVersion.ToString());
    }

    [Fact]
    public async Task A_forged_piece_is_refused_and_counted_and_the_light_still_gets_the_real_release()
    {
        var release = new LightRelease(_rig.Key, "1.1.0", 3000);
        FirmwareLight light = _rig.Lights[0];

        // Someone near the pole advertises a piece of chunk 0 with other bytes while the first rounds go on air.
        SimulatedBleTransport forger = _rig.Gateway.Air.Join(new BleAddress(0x02A5000000EE));
        var piece = new byte[CarouselPiece.MaxLength];
        byte[] bad = release.Chunk(0);
        bad[3] ^= 0x55;
        int length = CarouselPiece.WriteChunk(Convert.FromHexString(release.Id), 0, 0, bad, piece, 0);
        await forger.SetAdvertisingAsync(BleGateway.Advertisement(piece[..length], withFlags: false), TimeSpan.FromMilliseconds(100), CancellationToken.None);

        // And a report in the light's name that its key did not sign.
        byte[] report = new byte[CarouselPiece.MaxLength];
        CarouselPiece.WriteReport(light.Id, 1_000_000, UpdateState.Confirmed, UpdateReason.None, 0, new ReleaseVersion(9, 9, 9), new byte[32], new PlatformHmacSha256(), report, 0);
        Assert.Equal(Anshimi.Gateway.Firmware.LightCarousel.ForgedReport, await _rig.Gateway.HearAsync(BleGateway.Advertisement(report, withFlags: false)));

        await _rig.OfferAsync(release, _rig.Lights);
        await _rig.RunAsync(TimeSpan.FromMinutes(30), until: () => light.Updates.Receiver.RejectedForged > 0);
        Assert.True(light.Updates.Receiver.RejectedForged > 0);
        Assert.False(light.Updates.Client.Holds(0), "the forged chunk was never kept");
        await forger.ClearAdvertisingAsync(CancellationToken.None);

        await _rig.RunAsync(TimeSpan.FromHours(1), until: () => _rig.Lights.All(l => _rig.LastStateOf(l) == "confirmed"));

        Assert.All(_rig.Lights, l => Assert.Equal("confirmed", _rig.LastStateOf(l)));
        Assert.Equal("1.1.0", light.Loader.ActiveVersion.ToString());
        Assert.DoesNotContain(_rig.StatesOf(light), s => s.RunningVersion == "9.9.9");
        Assert.Equal(1, _rig.Gateway.Metric(Anshimi.Gateway.Firmware.LightCarousel.ForgedReport));
    }

    [Fact]
    public async Task A_power_cut_mid_download_resumes_from_the_chunks_on_flash()
    {
        var release = new LightRelease(_rig.Key, "1.1.0", 3000);
        FirmwareLight light = _rig.Lights[2];
        await _rig.OfferAsync(release, _rig.Lights);
        await _rig.RunAsync(TimeSpan.FromMinutes(30), until: () => light.Updates.Client.ChunksDone >= 4);
        int kept = light.Updates.Client.ChunksDone;
        Assert.InRange(kept, 4, release.Manifest.ChunkCount - 1);

        light.PowerCut();

        // Back on the pole: the download and every chunk already kept come back from flash.
        Assert.Equal(kept, light.Updates.Client.ChunksDone);
        Assert.NotNull(light.Updates.Client.Download);
        Anshimi.Firmware.Ota.CarouselReceiver afterCut = light.Updates.Receiver;
        Assert.Equal(0, afterCut.ChunksAssembled);

        await _rig.RunAsync(TimeSpan.FromHours(1), until: () => _rig.Lights.All(l => _rig.LastStateOf(l) == "confirmed"));

        Assert.Equal("confirmed", _rig.LastStateOf(light));
        Assert.Equal(release.Manifest.ChunkCount - kept, afterCut.ChunksAssembled);
        Assert.Equal("1.1.0", light.Loader.ActiveVersion.ToString());
    }

    [Fact]
    public async Task A_light_whose_new_image_crashes_falls_back_and_the_carousel_stops()
    {
        var release = new LightRelease(_rig.Key, "1.1.0", 3000, Anshimi.Firmware.Host.SimulatedImageBehaviour.Crash);
        FirmwareLight light = _rig.Lights[0];
        await _rig.OfferAsync(release, [light]);

        await _rig.RunAsync(TimeSpan.FromHours(1), until: () => _rig.LastStateOf(light) == "rolled-back");

        FirmwareStateEnvelope last = _rig.StatesOf(light)[^1];
        Assert.Equal(("rolled-back", "crashed", "r-lights"), (last.State, last.Reason, last.RolloutId));
        Assert.Contains(_rig.StatesOf(light), s => s.State == "activating");
        Assert.Equal("1.0.0", light.Loader.ActiveVersion.ToString());
        Assert.Equal(0, _rig.Carousel.Count);
    }

    [Fact]
    public async Task A_cancelled_rollout_stops_the_carousel_and_the_lights_drop_their_downloads()
    {
        var release = new LightRelease(_rig.Key, "1.1.0", 3000);
        await _rig.OfferAsync(release, _rig.Lights);
        await _rig.RunAsync(TimeSpan.FromMinutes(30), until: () => _rig.Lights.All(l => l.Updates.Client.ChunksDone >= 2));

        await _rig.SendAsync(new FirmwareCancelEnvelope("r-lights", release.Id));
        await _rig.RunAsync(TimeSpan.FromMinutes(2), until: () => _rig.Lights.All(l => _rig.LastStateOf(l) == "cancelled"));

        Assert.Equal(0, _rig.Carousel.Count);
        Assert.All(_rig.Lights, l =>
        {
            Assert.Equal("cancelled", _rig.LastStateOf(l));
            Assert.Null(l.Updates.Client.Download);
            Assert.Equal("1.0.0", l.Loader.ActiveVersion.ToString());
        });
    }

    [Fact]
    public async Task An_escort_holds_the_switch_until_it_ends()
    {
        var release = new LightRelease(_rig.Key, "1.1.0", 3000);
        FirmwareLight escorted = _rig.Lights[0];
        await _rig.OfferAsync(release, _rig.Lights);

        // A walker comes by under return-home monitoring just as the light has the whole release.
        await _rig.RunAsync(TimeSpan.FromMinutes(15), until: () => escorted.Updates.Client.Verified);
        Assert.True(escorted.Updates.Client.Verified);
        DateTimeOffset escortEnds = _rig.Time.GetUtcNow().AddMinutes(5);
        await _rig.SendAsync(new LightCommandEnvelope("walk-1", LightModeName.Escort, [DeviceIdText.Format(escorted.Id)], 30, escortEnds));

        bool escortSeen = false;
        await _rig.RunAsync(TimeSpan.FromHours(1), until: () => _rig.Lights.All(l => _rig.LastStateOf(l) == "confirmed"), eachDwell: () =>
        {
            // Never the new image while the light escorts: a switch would have restored the escort after the restart.
            if (escorted.Controller.Mode == LightMode.Escort)
            {
                escortSeen = true;
                Assert.Equal("1.0.0", escorted.Loader.ActiveVersion.ToString());
            }
        });

        Assert.True(escortSeen);
        FirmwareStateEnvelope refused = _rig.StatesOf(escorted).First(s => s.State == "refused");
        Assert.Equal("alarm_pending", refused.Reason);
        Assert.Equal("confirmed", _rig.LastStateOf(escorted));
        Assert.Equal("1.1.0", escorted.Loader.ActiveVersion.ToString());
    }
}
