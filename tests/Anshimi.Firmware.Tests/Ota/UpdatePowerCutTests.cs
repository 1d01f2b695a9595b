using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;

namespace Anshimi.Firmware.Tests.Ota;

/// <summary>
/// The power cut at every step of every flash write a whole update makes — the offer, each chunk and the download
/// record, the slot's files, the switch, the trial's boot count and the confirmation — with the flash adapter's staged
/// cuts: after each, the device boots a whole slot (the old one before the switch, the new one after), and the gateway
/// offering again takes it to the new release, confirmed.
/// </summary>
[Trait("Category", "Ota")]
public sealed class UpdatePowerCutTests : IDisposable
{
    private static readonly string[] Bells = ["home-bell"];
    private static readonly string[] Home = ["home"];

    private readonly ReleaseKey _key = ReleaseKey.Generate();

    public void Dispose() => _key.Dispose();

    [Fact]
    public void A_cut_at_any_step_of_writing_or_switching_leaves_a_bootable_slot_and_the_update_completes_after_it()
    {
        var v1 = new TestRelease(_key, "1.0.0", Bells, Home);
        var v2 = new TestRelease(_key, "1.1.0", Bells, Home, floor: "1.1.0");

        int writes;
        using (var clean = new OtaBench(_key))
        {
            clean.Install(v1);
            clean.Reboot(new PowerCut(int.MaxValue));
            clean.Offer(v2);
            clean.RestartIfAsked();
            Assert.Equal("confirmed", clean.States.Split(',')[^1]);
            writes = clean.Power.Writes;
        }

        Assert.True(writes > 10, "an update writes the offer, every chunk, the slot and the loader record: " + writes);
        int cuts = 0;
        for (int write = 1; write <= writes + 2; write++)
        {
            foreach (CutStep step in Enum.GetValues<CutStep>())
            {
                using var bell = new OtaBench(_key);
                bell.Install(v1);
                var power = new PowerCut(write, step);
                string where = "cut at " + step + " of write " + write;
                try
                {
                    bell.Reboot(power);
                    bell.Offer(v2);
                    bell.RestartIfAsked();
                }
                catch (PowerCutException)
                {
                    cuts++;
                }

                // Power back: a whole slot boots, old or new.
                bell.Reboot(new PowerCut());
                Assert.False(bell.Boot.SafeMode, where);
                string running = bell.Loader.ReadRecord().ActiveVersion.ToString();
                Assert.True(running is "1.0.0" or "1.1.0", where + ": runs " + running);

                // The gateway offers again after the reconnect until the device is final.
                bell.Offer(v2);
                bell.RestartIfAsked();
                LoaderRecord record = bell.Loader.ReadRecord();
                Assert.Equal("1.1.0", record.ActiveVersion.ToString());
                Assert.False(record.OnTrial, where);
                Assert.Equal("1.1.0", record.Floor.ToString());
                Assert.Equal("confirmed", bell.States.Split(',')[^1]);
            }
        }

        Assert.True(cuts >= writes, "every write was cut once at least: " + cuts + " of " + writes);
    }
}
