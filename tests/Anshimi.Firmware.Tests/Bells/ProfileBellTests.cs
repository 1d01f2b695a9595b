using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Bells;

/// <summary>Home, shop and voice profiles: what each raises and what the person pressing sees.</summary>
public sealed class ProfileBellTests
{
    [Fact]
    public void Unknown_profiles_are_refused()
    {
        Assert.Throws<ArgumentException>(() => BellProfiles.For("office", 1, BellRig.Key));
        Assert.Throws<ArgumentException>(() => BellBoard.ForProfile("office"));
        Assert.False(BellProfiles.IsKnown("HOME"));
    }

    [Fact]
    public void Home_bell_heartbeats_fit_a_20_second_supervision_window_even_with_one_lost()
    {
        var rig = new BellRig(profile: BellProfiles.Home);
        rig.Run(120_000);
        long[] at = rig.Link.Published.Where(p => rig.Decode(p.Payload).Type == FrameType.Heartbeat).Select(p => p.AtMs).ToArray();
        Assert.True(at.Length >= 14, "heartbeats: " + at.Length);

        // Any two heartbeats apart from one that got lost still arrive within 20 s of each other.
        Assert.All(at.Zip(at.Skip(2), (a, c) => c - a), gap => Assert.True(gap < 20_000, "gap over two heartbeats " + gap));
    }

    [Fact]
    public void Home_bell_long_press_raises_120_and_keeps_it_until_acknowledged()
    {
        var rig = new BellRig(profile: BellProfiles.Home);
        rig.Link.AcceptPublishes = false;
        rig.Press();
        rig.Run(60_000);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
        rig.Link.AcceptPublishes = true;
        rig.Run(31_000);
        Frame alarm = rig.Alarms.First();
        Assert.Equal(ContactIdCode.Panic, alarm.EventCode);
        Assert.Equal(ContactIdQualifier.NewEvent, alarm.Qualifier);
        Assert.Equal(1, alarm.Zone);

        rig.DeliverAck(alarm.Counter, AckStage.OperatorAcknowledged);
        rig.Run(20);
        Assert.Equal(0, rig.Bell.PendingAlarmCount);
        Assert.Equal(LedState.Acknowledged, rig.Led.Current);
    }

    [Fact]
    public void Shop_counter_button_raises_122_and_shows_nothing_even_when_help_is_confirmed()
    {
        var rig = new BellRig(profile: BellProfiles.Shop);
        rig.Run(100);
        int shownBefore = rig.Led.History.Count;

        rig.AuxButton.Press(2000);
        rig.Run(2100);
        Frame alarm = rig.Alarms.Single();
        Assert.Equal(ContactIdCode.SilentPanic, alarm.EventCode);
        Assert.Equal(2, alarm.Zone);

        rig.DeliverAck(alarm.Counter, AckStage.Received);
        rig.Run(20);
        rig.DeliverAck(alarm.Counter, AckStage.OperatorAcknowledged);
        rig.Run(20);
        rig.DeliverAck(alarm.Counter, AckStage.Resolved);
        rig.Run(1000);

        Assert.Equal(3, rig.Bell.Downlinks.AcksAccepted);
        Assert.Equal(shownBefore, rig.Led.History.Count);
        Assert.All(rig.Led.History, change => Assert.Equal(LedState.Idle, change.State));
        Assert.Equal(LedState.Idle, rig.Bell.LedState);
        Assert.Equal(0u, rig.Bell.NewestAlarmCounter);
    }

    [Fact]
    public void Shop_main_button_stays_audible_and_silent_mode_makes_it_silent()
    {
        var audible = new BellRig(profile: BellProfiles.Shop);
        audible.Press();
        Assert.Equal(ContactIdCode.Panic, audible.Alarms.Single().EventCode);
        Assert.Equal(LedState.Sending, audible.Led.Current);

        var silent = new BellRig(c => c.SilentMode = true, profile: BellProfiles.Shop);
        silent.Press();
        Frame alarm = silent.Alarms.Single();
        Assert.Equal(ContactIdCode.SilentPanic, alarm.EventCode);
        silent.DeliverAck(alarm.Counter, AckStage.OperatorAcknowledged);
        silent.Run(100);
        Assert.All(silent.Led.History, change => Assert.Equal(LedState.Idle, change.State));
    }

    [Fact]
    public void Silent_alarm_after_a_visible_one_leaves_the_visible_state_alone()
    {
        var rig = new BellRig(profile: BellProfiles.Shop);
        rig.Press();
        uint visible = rig.Alarms.Single().Counter;
        rig.DeliverAck(visible, AckStage.Received);
        rig.Run(20);
        Assert.Equal(LedState.ReceivedByGateway, rig.Led.Current);
        int changes = rig.Led.History.Count;

        rig.AuxButton.Press(2000);
        rig.Run(2100);
        uint silent = rig.Alarms.Single(f => f.EventCode == ContactIdCode.SilentPanic).Counter;
        rig.DeliverAck(silent, AckStage.OperatorAcknowledged);
        rig.Run(100);
        Assert.Equal(changes, rig.Led.History.Count);
        Assert.Equal(LedState.ReceivedByGateway, rig.Led.Current);
    }

    [Fact]
    public void Voice_keyword_raises_120_on_the_voice_zone_and_a_code_word_raises_silent_duress()
    {
        var rig = new BellRig(profile: BellProfiles.Voice);
        rig.Run(100);
        rig.Uart.Inject(Df2301qFrame.AsrResult(BellProfiles.KeywordCodeWord, 1));
        rig.Run(100);
        Frame duress = rig.Alarms.Single();
        Assert.Equal(ContactIdCode.Duress, duress.EventCode);
        Assert.Equal(2, duress.Zone);
        rig.DeliverAck(duress.Counter, AckStage.OperatorAcknowledged);
        rig.Run(100);
        Assert.All(rig.Led.History, change => Assert.Equal(LedState.Idle, change.State));

        rig.Uart.Inject(Df2301qFrame.AsrResult(BellProfiles.KeywordHelp, 2));
        rig.Run(100);
        Frame panic = rig.Alarms.Last();
        Assert.Equal(ContactIdCode.Panic, panic.EventCode);
        Assert.Equal(2, panic.Zone);
        Assert.Equal(LedState.Sending, rig.Led.Current);

        // The module was told to keep its own speaker quiet.
        Assert.Equal(Df2301qFrame.SetMute(true, 0), rig.Uart.Written[..15]);
    }

    [Fact]
    public void Voice_keyword_repeated_within_the_window_is_one_alarm_and_unknown_words_are_counted()
    {
        var rig = new BellRig(profile: BellProfiles.Voice);
        for (int i = 0; i < 3; i++)
        {
            rig.Uart.Inject(Df2301qFrame.AsrResult(BellProfiles.KeywordHelp, (byte)i));
            rig.Run(2000);
        }

        rig.Uart.Inject(Df2301qFrame.AsrResult(22, 7));
        rig.Run(100);
        Assert.Equal(1, rig.Bell.AlarmsRaised);
        Assert.Equal(1, rig.Bell.UnknownKeywords);

        rig.Run(10_000);
        rig.Uart.Inject(Df2301qFrame.AsrResult(BellProfiles.KeywordHelp, 9));
        rig.Run(100);
        Assert.Equal(2, rig.Bell.AlarmsRaised);
    }

    [Fact]
    public void Voice_bell_survives_random_line_noise_and_still_hears_the_keyword()
    {
        var rig = new BellRig(profile: BellProfiles.Voice);
        var random = new Random(5);
        for (int i = 0; i < 200; i++)
        {
            var noise = new byte[random.Next(1, 40)];
            random.NextBytes(noise);
            rig.Uart.Inject(noise);
            rig.Run(10);
        }

        rig.Uart.Inject(Df2301qFrame.AsrResult(BellProfiles.KeywordHelp, 3));
        rig.Run(100);
        Assert.Contains(rig.Alarms, f => f.EventCode == ContactIdCode.Panic && f.Zone == 2);
    }
}
