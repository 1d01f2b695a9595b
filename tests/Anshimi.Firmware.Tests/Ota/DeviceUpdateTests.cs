using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;

namespace Anshimi.Firmware.Tests.Ota;

/// <summary>
/// A bell's loader and update client on real flash files: a release offered over MQTT is downloaded chunk by chunk,
/// checked, activated on trial and confirmed; every refusal and failure of protocol/README.md §11.5 leaves the old
/// slot running and is reported.
/// </summary>
[Trait("Category", "Ota")]
public sealed class DeviceUpdateTests : IDisposable
{
    private static readonly string[] Bells = ["home-bell"];
    private static readonly string[] Home = ["home", "shop"];

    private readonly ReleaseKey _key = ReleaseKey.Generate();
    private readonly OtaBench _bell;
    private readonly TestRelease _v1;
    private readonly TestRelease _v2;

    public DeviceUpdateTests()
    {
        _bell = new OtaBench(_key);
        _v1 = new TestRelease(_key, "1.0.0", Bells, Home);
        _v2 = new TestRelease(_key, "1.1.0", Bells, Home, floor: "1.1.0");
        _bell.Install(_v1);
        _bell.Reboot();
    }

    public void Dispose()
    {
        _bell.Dispose();
        _key.Dispose();
    }

    [Fact]
    public void An_offered_release_is_downloaded_verified_activated_on_trial_and_confirmed_with_the_floor_raised()
    {
        Assert.Equal("idle", _bell.States);
        _bell.Offer(_v2);
        Assert.True(_bell.Client.RestartRequested);
        _bell.RestartIfAsked();

        Assert.Equal('b', _bell.Boot.Slot);
        Assert.Equal("idle,offered,verified,activating,trial,confirmed", _bell.States);
        LoaderRecord record = _bell.Loader.ReadRecord();
        Assert.False(record.OnTrial);
        Assert.Equal("1.1.0", record.ActiveVersion.ToString());
        Assert.Equal("1.1.0", record.Floor.ToString());
        Assert.Equal('a', record.PreviousSlot);
        Assert.Equal("1.1.0", _bell.LastReport.Running.ToString());
        Assert.Equal("Anshimi.Bell.Device.Program", _bell.Starter.Entry);
    }

    [Fact]
    public void A_subscription_lost_with_the_link_is_made_again_once_the_link_is_back()
    {
        _bell.Link.Reset();
        _bell.Link.IsConnected = false;
        _bell.Client.OnConnected();
        Assert.Empty(_bell.Link.Subscriptions);

        _bell.Link.IsConnected = true;
        _bell.Client.Tick();
        _bell.Client.Tick();
        Assert.Equal([Topics.DeviceUpdateDown(OtaBench.DeviceId)], _bell.Link.Subscriptions);
    }

    [Fact]
    public void A_trial_or_confirmation_report_lost_on_its_way_is_sent_again_so_the_gateway_never_waits_for_the_trial_to_run_out()
    {
        _bell.AcceptTrials = false;
        _bell.Offer(_v2);
        _bell.Link.AcceptPublishes = false;
        _bell.RestartIfAsked();
        Assert.Equal("idle,offered,verified,activating", _bell.States);

        // The trial report timed out after the restart; it goes again after the request repeat time.
        _bell.Link.AcceptPublishes = true;
        _bell.Clock.Advance(29_000);
        _bell.Client.Tick();
        _bell.Pump();
        Assert.Equal("idle,offered,verified,activating", _bell.States);
        _bell.Clock.Advance(1_000);
        _bell.Client.Tick();
        _bell.Pump();
        Assert.Equal("idle,offered,verified,activating,trial", _bell.States);

        // The confirmation is lost too: the gateway, still seeing a trial, accepts again and hears it this time.
        _bell.Link.AcceptPublishes = false;
        _bell.Deliver(UpdateMessage.EncodeRelease(UpdateMessage.TrialAccepted, _v2.Id));
        Assert.False(_bell.Loader.ReadRecord().OnTrial);
        _bell.Link.AcceptPublishes = true;
        _bell.Deliver(UpdateMessage.EncodeRelease(UpdateMessage.TrialAccepted, _v2.Id));
        Assert.Equal("idle,offered,verified,activating,trial,confirmed", _bell.States);

        _bell.Clock.Advance(60_000);
        _bell.Client.Tick();
        _bell.Pump();
        Assert.Equal("idle,offered,verified,activating,trial,confirmed", _bell.States);
        Assert.Equal("1.1.0", _bell.Loader.ReadRecord().Floor.ToString());
    }

    [Fact]
    public void An_offer_of_the_release_on_trial_is_answered_trial_so_its_acceptance_can_follow()
    {
        _bell.AcceptTrials = false;
        _bell.Offer(_v2);
        _bell.RestartIfAsked();
        Assert.Equal("idle,offered,verified,activating,trial", _bell.States);

        _bell.Deliver(_v2.Offer);
        Assert.Equal("idle,offered,verified,activating,trial,trial", _bell.States);
        Assert.True(_bell.Loader.ReadRecord().OnTrial);

        _bell.Deliver(UpdateMessage.EncodeRelease(UpdateMessage.TrialAccepted, _v2.Id));
        Assert.Equal("idle,offered,verified,activating,trial,trial,confirmed", _bell.States);
        Assert.Equal("1.1.0", _bell.Loader.ReadRecord().ActiveVersion.ToString());
    }

    [Fact]
    public void A_corrupted_chunk_is_asked_again_and_five_bad_copies_fail_the_download_with_the_old_slot_running()
    {
        int corrupted = 0;
        _bell.Transit = (index, chunk) =>
        {
            if (index == 2 && corrupted++ < 2)
            {
                chunk = (byte[])chunk.Clone();
                chunk[^1] ^= 0xFF;
            }

            return chunk;
        };
        _bell.Offer(_v2);
        Assert.True(_bell.Client.RestartRequested);
        Assert.Equal(3, corrupted);

        using var other = new OtaBench(_key);
        other.Install(_v1);
        other.Reboot();
        other.Transit = (index, chunk) => index == 1 ? chunk[..^1].Concat(new byte[] { 0 }).ToArray() : chunk;
        other.Offer(_v2);
        Assert.False(other.Client.RestartRequested);
        Assert.Equal("failed/bad_chunk", other.States.Split(',')[^1]);
        other.Reboot();
        Assert.Equal('a', other.Boot.Slot);
        Assert.Null(other.Files.Read("part"));
    }

    [Fact]
    public void A_lost_chunk_is_asked_again_after_30_seconds_and_a_reboot_resumes_from_the_last_good_chunk()
    {
        bool lose = true;
        _bell.Transit = (index, chunk) => index == 3 && lose ? null : chunk;
        _bell.Offer(_v2);
        Assert.Equal(3, _bell.Client.ChunksDone);

        _bell.Clock.Advance(29_000);
        _bell.Client.Tick();
        _bell.Pump();
        Assert.Equal(3, _bell.Client.ChunksDone);

        // Power goes away; the device comes back and asks for chunk 3 first.
        lose = false;
        _bell.Reboot();
        var request = UpdateMessage.Read(_bell.Link.Published.First(p => p.Payload[1] == UpdateMessage.ChunkRequest).Payload)!;
        Assert.Equal(3, request.Index);
        _bell.RestartIfAsked();
        Assert.Equal('b', _bell.Boot.Slot);
        Assert.Equal("confirmed", _bell.States.Split(',')[^1]);
    }

    [Fact]
    public void A_release_signed_by_an_untrusted_key_or_with_a_changed_manifest_is_refused()
    {
        using var stranger = ReleaseKey.Generate();
        _bell.Offer(new TestRelease(stranger, "1.1.0", Bells, Home));
        Assert.Equal("refused/unknown_key", _bell.States.Split(',')[^1]);

        byte[] forged = (byte[])_v2.Parsed.ManifestBytes.Clone();
        forged[20] ^= 0x01; // the minimum version
        _bell.Deliver(UpdateMessage.EncodeOffer(forged, _v2.Parsed.Signature));
        Assert.Equal("refused/bad_signature", _bell.States.Split(',')[^1]);
        Assert.Null(_bell.Records.Read(UpdateClient.DownloadRecord));
    }

    [Fact]
    public void Releases_for_another_board_or_kind_a_downgrade_and_a_too_old_device_are_refused()
    {
        _bell.Offer(new TestRelease(_key, "1.1.0", ["doorbell"], Home));
        Assert.Equal("refused/wrong_board", _bell.States.Split(',')[^1]);
        _bell.Offer(new TestRelease(_key, "1.1.0", Bells, ["battery"]));
        Assert.Equal("refused/wrong_kind", _bell.States.Split(',')[^1]);
        _bell.Offer(new TestRelease(_key, "0.9.0", Bells, Home));
        Assert.Equal("refused/downgrade", _bell.States.Split(',')[^1]);
        _bell.Offer(new TestRelease(_key, "1.0.0", Bells, Home, size: 900));
        Assert.Equal("refused/downgrade", _bell.States.Split(',')[^1]);
        _bell.Offer(new TestRelease(_key, "2.0.0", Bells, Home, minimum: "1.5.0"));
        Assert.Equal("refused/too_old", _bell.States.Split(',')[^1]);
        Assert.False(_bell.Client.RestartRequested);
        Assert.Equal('a', _bell.Loader.ReadRecord().ActiveSlot);
    }

    [Fact]
    public void An_offer_or_an_activation_while_an_alarm_is_pending_is_refused_until_it_is_acked()
    {
        _bell.Hold.HoldsUpdate = true;
        _bell.Offer(_v2);
        Assert.Equal("refused/alarm_pending", _bell.States.Split(',')[^1]);

        _bell.Hold.HoldsUpdate = false;
        _bell.AutoActivate = false;
        _bell.Offer(_v2);
        Assert.Equal("verified", _bell.States.Split(',')[^1]);
        _bell.Hold.HoldsUpdate = true;
        _bell.Deliver(UpdateMessage.EncodeRelease(UpdateMessage.Activate, _v2.Id));
        Assert.Equal("refused/alarm_pending", _bell.States.Split(',')[^1]);
        Assert.False(_bell.Client.RestartRequested);
        Assert.Equal('a', _bell.Loader.ReadRecord().ActiveSlot);

        _bell.Hold.HoldsUpdate = false;
        _bell.Deliver(UpdateMessage.EncodeRelease(UpdateMessage.Activate, _v2.Id));
        Assert.True(_bell.Client.RestartRequested);
    }

    [Fact]
    public void A_verified_download_whose_activation_never_came_reports_verified_again_after_a_reboot_and_the_activation_switches()
    {
        _bell.AutoActivate = false;
        _bell.Offer(_v2);
        Assert.Equal("verified", _bell.States.Split(',')[^1]);

        // The activation was lost, or the switch cut by the power: the gateway learns the download is still verified.
        _bell.Reboot();
        Assert.Equal('a', _bell.Boot.Slot);
        Assert.Equal("idle,verified", string.Join(",", _bell.States.Split(',')[^2..]));

        _bell.AutoActivate = true;
        _bell.Deliver(UpdateMessage.EncodeRelease(UpdateMessage.Activate, _v2.Id));
        _bell.RestartIfAsked();
        Assert.Equal("1.1.0", _bell.Loader.ReadRecord().ActiveVersion.ToString());
        Assert.Equal("confirmed", _bell.States.Split(',')[^1]);
    }

    [Fact]
    public void An_image_that_crashes_at_start_is_rolled_back_after_three_trial_boots_and_reported()
    {
        _bell.Offer(new TestRelease(_key, "1.1.0", Bells, Home, SimulatedImageBehaviour.Crash));
        _bell.RestartIfAsked();

        Assert.Equal('a', _bell.Boot.Slot);
        Assert.Equal("rolled-back/crashed", _bell.States.Split(',')[^1]);
        LoaderRecord record = _bell.Loader.ReadRecord();
        Assert.Equal("1.0.0", record.ActiveVersion.ToString());
        Assert.False(record.OnTrial);
        Assert.Null(_bell.Files.Read("b/manifest"));

        // Reported once: the next connection says idle.
        _bell.Reboot();
        Assert.Equal("idle", _bell.States.Split(',')[^1]);
    }

    [Fact]
    public void An_image_that_never_connects_is_reset_after_the_trial_time_and_rolled_back_with_trial_timeout()
    {
        _bell.Offer(new TestRelease(_key, "1.1.0", Bells, Home, SimulatedImageBehaviour.Silent));
        _bell.RestartIfAsked();
        for (int boot = 0; boot < LoaderRecord.MaxTrialBoots && _bell.Boot.Slot == 'b'; boot++)
        {
            _bell.Clock.Advance(10 * 60 * 1000);
            _bell.Client.Tick();
            Assert.True(_bell.Client.RestartRequested);
            _bell.RestartIfAsked();
        }

        Assert.Equal('a', _bell.Boot.Slot);
        Assert.Equal("rolled-back/trial_timeout", _bell.States.Split(',')[^1]);
    }

    [Fact]
    public void A_slot_whose_files_were_changed_is_not_loaded_and_the_loader_falls_back_with_bad_slot()
    {
        _bell.AcceptTrials = false;
        _bell.Offer(_v2);
        _bell.RestartIfAsked();
        Assert.Equal('b', _bell.Boot.Slot);
        _bell.Files.Write("b/Anshimi.Firmware.Core.pe", new byte[10]);

        _bell.Reboot();
        Assert.Equal('a', _bell.Boot.Slot);
        Assert.Equal("rolled-back/bad_slot", _bell.States.Split(',')[^1]);
    }

    [Fact]
    public void The_loader_never_falls_back_below_the_floor_and_with_no_slot_left_stays_in_safe_mode_reporting_bad_slot()
    {
        _bell.Offer(_v2);
        _bell.RestartIfAsked();
        var v3 = new TestRelease(_key, "1.2.0", Bells, Home, SimulatedImageBehaviour.Crash, floor: "1.2.0");
        _bell.Offer(v3);
        _bell.RestartIfAsked();
        Assert.Equal('b', _bell.Boot.Slot);
        Assert.Equal("1.1.0", _bell.Loader.ReadRecord().ActiveVersion.ToString());

        _bell.Files.Write("b/signature", new byte[64]);
        _bell.Reboot();
        Assert.True(_bell.Boot.SafeMode);
        Assert.Equal("failed/bad_slot", _bell.States.Split(',')[^1]);
    }

    [Fact]
    public void Cancel_ends_a_download_and_deletes_its_part()
    {
        _bell.Transit = (index, chunk) => index >= 2 ? null : chunk;
        _bell.Offer(_v2);
        _bell.Deliver(UpdateMessage.EncodeRelease(UpdateMessage.Cancel, _v2.Id));
        Assert.Equal("cancelled", _bell.States.Split(',')[^1]);
        Assert.Equal(-1, _bell.Files.Length("part"));
        Assert.Equal(0, _bell.Client.ChunksDone);
    }

    [Fact]
    public void Malformed_messages_are_dropped()
    {
        Assert.False(_bell.Client.Handle([]));
        Assert.False(_bell.Client.Handle([1, 2, 0]));
        Assert.False(_bell.Client.Handle([1, 99, 0, 0, 0, 0, 0, 0, 0, 0]));
        Assert.Null(UpdateMessage.Read([1, 1, 0xFF, 0xFF]));
        Assert.Equal("idle", _bell.States);
    }
}
