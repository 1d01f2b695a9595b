using Anshimi.Firmware.Bells;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Bells;

/// <summary>Every profile, rebooted mid-alarm with a trouble open: nothing lost, nothing repeated, counters move on.</summary>
public sealed class RebootTests
{
    [Theory]
    [InlineData(BellProfiles.Home)]
    [InlineData(BellProfiles.Shop)]
    [InlineData(BellProfiles.Voice)]
    [InlineData(BellProfiles.Battery)]
    public void Reboot_mid_alarm_keeps_the_alarm_its_counter_and_the_open_tamper(string profile)
    {
        var rig = new BellRig(profile: profile);
        rig.Link.IsConnected = false;
        rig.Tamper.IsActive = true;
        rig.Run(1000);
        if (profile == BellProfiles.Voice)
        {
            rig.Uart.Inject(Df2301qFrame.AsrResult(BellProfiles.KeywordHelp, 1));
            rig.Run(100);
        }
        else if (profile == BellProfiles.Shop)
        {
            rig.AuxButton.Press(2000);
            rig.Run(2100);
        }
        else
        {
            rig.Press();
        }

        Assert.Equal(2, rig.Bell.PendingAlarmCount);
        uint next = rig.Bell.NextCounter;

        rig.Reboot();
        Assert.Equal(2, rig.Bell.PendingAlarmCount);
        Assert.True(rig.Bell.Troubles.TamperOpen);
        Assert.True(rig.Bell.NextCounter >= next, "counters never go back");

        // Delivered after the reboot: both events once each, oldest first, with their old counters.
        rig.Link.IsConnected = true;
        rig.Run(profile == BellProfiles.Battery ? 3000 : 100);
        List<Frame> sent = profile == BellProfiles.Battery ? rig.AdvertisedFrames() : rig.Alarms.ToList();
        uint[] counters = sent.Select(f => f.Counter).Distinct().ToArray();
        Assert.Equal(2, counters.Length);
        Assert.True(counters.All(c => c < next));
        Assert.Equal(ContactIdCode.Tamper, sent.First().EventCode);
        Assert.Single(sent.Where(f => f.EventCode == ContactIdCode.Tamper).Select(f => f.Counter).Distinct());
    }
}
