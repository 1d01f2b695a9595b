using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Tests.Doorbell;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;

namespace Anshimi.Firmware.Tests.Ota;

/// <summary>
/// The loader app's boot (<see cref="LoaderBoot"/>) and an application's update side (<see cref="ApplicationUpdates"/>)
/// on a real flash directory (<see cref="FlashStorage"/>, <see cref="FlashFiles"/>): only the start of a slot's image is
/// simulated. The gateway's side is played by hand on the bell's own broker session.
/// </summary>
[Trait("Category", "Ota")]
public sealed class LoaderBootTests : IDisposable
{
    private static readonly string[] Bells = ["home-bell"];
    private static readonly string[] Home = ["home"];

    private readonly ReleaseKey _key = ReleaseKey.Generate();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "anshimi-loader-" + Guid.NewGuid().ToString("N"));
    private readonly ReleaseKeys _keys;
    private readonly TestRelease _v1;
    private readonly TestRelease _v2;
    private readonly BellRig _rig = new(profile: "home");
    private readonly SimulatedApplicationStarter _starter = new();

    public LoaderBootTests()
    {
        _keys = new ReleaseKeys([_key.PublicKey]);
        _v1 = new TestRelease(_key, "1.0.0", Bells, Home);
        _v2 = new TestRelease(_key, "1.1.0", Bells, Home, floor: "1.1.0");
        WriteSlot('a', _v1);
        new LoaderRecord { ActiveVersion = _v1.Manifest.Version, ActiveReleaseId = _v1.Id }.Write(Records);
    }

    private FlashStorage Records => new(_directory);

    private FlashFiles Files => new(_directory, 4 * 1024 * 1024);

    public void Dispose()
    {
        _key.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void The_loader_starts_the_active_slot_with_its_manifests_entry()
    {
        var boot = new LoaderBoot(Records, Files, _keys, _starter);

        BootResult result = boot.Run();

        Assert.False(result.SafeMode);
        Assert.Null(boot.StartFailure);
        Assert.Equal('a', result.Slot);
        Assert.Equal("Anshimi.Bell.Device.Program", _starter.Entry);
        Assert.Equal(SimulatedImageBehaviour.Normal, _starter.Behaviour);
    }

    [Fact]
    public void A_start_that_throws_is_a_crash_counted_against_the_trial_and_after_the_trial_boots_the_loader_falls_back_and_the_old_slot_reports_it()
    {
        var crashing = new TestRelease(_key, "1.1.0", Bells, Home, SimulatedImageBehaviour.Crash);
        WriteSlot('b', crashing);
        Assert.True(new SlotLoader(Records, Files, _keys).Activate('b', crashing.Manifest, crashing.Id, 1_800_000_000));

        for (int boots = 1; boots <= LoaderRecord.MaxTrialBoots; boots++)
        {
            var boot = new LoaderBoot(Records, Files, _keys, _starter);
            BootResult crashed = boot.Run();
            Assert.IsType<SimulatedCrashException>(boot.StartFailure);
            Assert.Equal('b', crashed.Slot);
            Assert.Equal(boots, LoaderRecord.Read(Records)!.TrialBoots);
        }

        var last = new LoaderBoot(Records, Files, _keys, _starter);
        BootResult fellBack = last.Run();
        Assert.Null(last.StartFailure);
        Assert.Equal('a', fellBack.Slot);
        Assert.Null(Files.Read("b/manifest"));

        // The old application reads that boot and says so once it is connected.
        ApplicationUpdates updates = Application(last.Loader.ReadRunning(), last.Loader);
        updates.Tick();
        UpdateMessage report = Reports().Last();
        Assert.Equal(UpdateState.RolledBack, report.State);
        Assert.Equal(UpdateReason.Crashed, report.Reason);
        Assert.Equal("1.0.0", report.Running.ToString());
        Assert.Equal(UpdateReason.None, LoaderRecord.Read(Records)!.Reason);
    }

    [Fact]
    public void With_no_slot_that_loads_the_loader_runs_safe_mode_which_reports_bad_slot_and_takes_an_update()
    {
        byte[] signature = Files.Read("a/signature")!;
        signature[0] ^= 0x01;
        Files.Write("a/signature", signature);

        var boot = new LoaderBoot(Records, Files, _keys, _starter);
        BootResult result = boot.Run();

        Assert.True(result.SafeMode);
        Assert.Null(_starter.Entry);
        ApplicationUpdates safeMode = Application(result, boot.Loader);
        safeMode.Tick();
        Assert.Contains(Reports(), r => r.State == UpdateState.Failed && r.Reason == UpdateReason.BadSlot);

        Download(safeMode, _v2);
        Assert.Equal(UpdateState.Verified, Reports().Last().State);
        safeMode.Receive(UpdateMessage.EncodeRelease(UpdateMessage.Activate, _v2.Id));
        safeMode.Tick();
        Assert.True(safeMode.RestartRequested);

        BootResult repaired = new LoaderBoot(Records, Files, _keys, _starter).Run();
        Assert.False(repaired.SafeMode);
        Assert.Equal("1.1.0", repaired.Record.ActiveVersion.ToString());
        Assert.True(repaired.Record.OnTrial);
    }

    [Fact]
    public void The_application_reads_its_boot_without_counting_another_trial_boot()
    {
        WriteSlot('b', _v2);
        var slots = new SlotLoader(Records, Files, _keys);
        Assert.True(slots.Activate('b', _v2.Manifest, _v2.Id, 1_800_000_000));
        new LoaderBoot(Records, Files, _keys, _starter).Run();
        Assert.Equal(1, LoaderRecord.Read(Records)!.TrialBoots);

        BootResult first = slots.ReadRunning();
        BootResult second = slots.ReadRunning();

        Assert.Equal(1, LoaderRecord.Read(Records)!.TrialBoots);
        Assert.True(second.Record.OnTrial);
        Assert.Equal('b', first.Slot);
        Assert.Equal("1.1.0", second.Manifest!.Version.ToString());
        Assert.Equal(_v2.Id, second.Record.ActiveReleaseId);
    }

    [Fact]
    public void A_trial_is_confirmed_only_once_the_application_is_connected_and_the_gateway_accepted_its_heartbeat()
    {
        WriteSlot('b', _v2);
        var slots = new SlotLoader(Records, Files, _keys);
        slots.Activate('b', _v2.Manifest, _v2.Id, 1_800_000_000);
        new LoaderBoot(Records, Files, _keys, _starter).Run();
        _rig.Link.IsConnected = false;
        ApplicationUpdates updates = Application(slots.ReadRunning(), slots);

        // Not connected: nothing said, and an acceptance heard then is not taken.
        updates.Tick();
        updates.Receive(UpdateMessage.EncodeRelease(UpdateMessage.TrialAccepted, _v2.Id));
        updates.Tick();
        Assert.Empty(Reports());
        Assert.True(LoaderRecord.Read(Records)!.OnTrial);

        // Connected: the trial is reported, but stays a trial until the gateway has heard a heartbeat it verified.
        _rig.Link.IsConnected = true;
        updates.Tick();
        Assert.Equal(UpdateState.Trial, Reports().Last().State);
        _rig.Run(20_000);
        updates.Tick();
        Assert.NotEmpty(_rig.Heartbeats);
        Assert.True(LoaderRecord.Read(Records)!.OnTrial);

        _rig.Link.Deliver(Topics.DeviceUpdateDown(BellRig.DeviceId), UpdateMessage.EncodeRelease(UpdateMessage.TrialAccepted, _v2.Id));
        updates.Tick();

        LoaderRecord confirmed = LoaderRecord.Read(Records)!;
        Assert.False(confirmed.OnTrial);
        Assert.Equal("1.1.0", confirmed.Floor.ToString());
        Assert.Equal(UpdateState.Confirmed, Reports().Last().State);
    }

    [Fact]
    public void A_bell_with_an_alarm_the_gateway_has_not_received_never_switches_slots()
    {
        var boot = new LoaderBoot(Records, Files, _keys, _starter);
        boot.Run();
        ApplicationUpdates updates = Application(boot.Loader.ReadRunning(), boot.Loader);
        updates.Tick();
        Download(updates, _v2);
        Assert.Equal(UpdateState.Verified, Reports().Last().State);

        _rig.Press();
        Assert.True(_rig.Bell.HoldsUpdate);
        updates.Receive(UpdateMessage.EncodeRelease(UpdateMessage.Activate, _v2.Id));
        updates.Tick();

        Assert.False(updates.RestartRequested);
        Assert.Equal(UpdateState.Refused, Reports().Last().State);
        Assert.Equal(UpdateReason.AlarmPending, Reports().Last().Reason);
        Assert.Equal('a', LoaderRecord.Read(Records)!.ActiveSlot);

        _rig.DeliverAck(_rig.Alarms.First().Counter, AckStage.Received);
        _rig.Run(100);
        Assert.False(_rig.Bell.HoldsUpdate);
        updates.Receive(UpdateMessage.EncodeRelease(UpdateMessage.Activate, _v2.Id));
        updates.Tick();

        Assert.True(updates.RestartRequested);
        Assert.Equal('b', LoaderRecord.Read(Records)!.ActiveSlot);
    }

    [Fact]
    public void A_doorbell_holds_an_update_while_an_event_waits_for_the_gateway()
    {
        var rig = new DoorbellRig();
        Assert.False(rig.Doorbell.HoldsUpdate);

        rig.Parts.Ring.Press(200);
        rig.Run(2000);
        Assert.Single(rig.Events);
        Assert.True(rig.Doorbell.HoldsUpdate);

        rig.AckEvents();
        rig.Run(500);
        Assert.False(rig.Doorbell.HoldsUpdate);
    }

    /// <summary>The bell's update side as its Program.cs builds it, on the rig's broker session and its bell's state.</summary>
    private ApplicationUpdates Application(BootResult boot, SlotLoader loader)
    {
        var link = new MqttUpdateLink(_rig.Link, BellRig.DeviceId, 5000);
        var updates = new ApplicationUpdates(link, boot, loader, _keys, Files, Records, _rig.Clock, _rig.Bell, "home-bell", "home", new UpdateClientSettings());
        link.DeliverTo(updates);
        return updates;
    }

    /// <summary>Offers <paramref name="release"/> and answers the device's chunk requests until it says no more.</summary>
    private void Download(ApplicationUpdates updates, TestRelease release)
    {
        string down = Topics.DeviceUpdateDown(BellRig.DeviceId);
        _rig.Link.Deliver(down, release.Offer);
        updates.Tick();
        for (int answered = 0; answered < _rig.Link.Published.Count; answered++)
        {
            Published published = _rig.Link.Published[answered];
            UpdateMessage? message = published.Topic == Topics.DeviceUpdateUp(BellRig.DeviceId) ? UpdateMessage.Read(published.Payload) : null;
            if (message?.Type == UpdateMessage.ChunkRequest)
            {
                for (int i = message.Index; i < message.Index + message.Count; i++)
                {
                    _rig.Link.Deliver(down, release.Chunk(i));
                }

                updates.Tick();
            }
        }
    }

    private List<UpdateMessage> Reports() =>
        [.. _rig.Link.Published.Where(p => p.Topic == Topics.DeviceUpdateUp(BellRig.DeviceId))
            .Select(p => UpdateMessage.Read(p.Payload)!).Where(m => m.Type == UpdateMessage.StateReport)];

    private void WriteSlot(char slot, TestRelease release)
    {
        FlashFiles files = Files;
        int position = 0;
        for (int i = 0; i < release.Manifest.AssemblyNames.Length; i++)
        {
            files.Write(slot + "/" + release.Manifest.AssemblyNames[i], release.Parsed.Image[position..(position + release.Manifest.AssemblyLengths[i])]);
            position += release.Manifest.AssemblyLengths[i];
        }

        files.Write(slot + "/signature", release.Parsed.Signature);
        files.Write(slot + "/manifest", release.Parsed.ManifestBytes);
    }
}
