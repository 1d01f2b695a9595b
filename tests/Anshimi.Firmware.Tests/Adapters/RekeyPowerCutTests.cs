using Anshimi.Firmware.Host;
using Anshimi.Firmware.Tests.Bells;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests.Adapters;

/// <summary>
/// A version-2 bell's ack floor through a re-key of its gateway's downlinks (protocol/README.md §10), on the device apps'
/// flash adapter with the power cut at every step of every write: acks of epoch 0, then of epoch 1 with counters starting
/// again. After each cut no ack the bell acted on acts again — neither one recorded before the re-key nor one after —
/// and once an epoch-1 ack has acted, every epoch-0 ack is refused. And the bell's own move to a new uplink epoch, at its
/// counter's wrap and on its gateway's re-key, with the power cut at every step of every write on the way: no (epoch,
/// counter) is ever sealed twice, the epoch never falls back, and a receiver that has seen the new epoch takes nothing
/// recorded before.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class RekeyPowerCutTests : IDisposable
{
    private const uint DeviceId = 0x0012AB34;
    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    private readonly FrameCodecV2 _codec = new(new HmacSha256());
    private readonly List<string> _directories = [];

    public void Dispose()
    {
        foreach (string directory in _directories.Where(Directory.Exists))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_cut_at_any_step_of_any_floor_write_across_a_re_key_never_lets_a_recorded_ack_act_again()
    {
        // Epoch 0 counters 1-3, then the re-key: epoch 1 counters 1-2. Each ack acknowledges alarm 100 + its position.
        byte[][] acks = [Ack(0, 1, 101), Ack(0, 2, 102), Ack(0, 3, 103), Ack(1, 1, 104), Ack(1, 2, 105)];
        for (int write = 1; write <= acks.Length; write++)
        {
            foreach (CutStep step in Enum.GetValues<CutStep>())
            {
                string where = "cut at " + step + " of write " + write;
                string directory = Path.Combine(Path.GetTempPath(), "anshimi-rekey-" + Guid.NewGuid().ToString("N"));
                _directories.Add(directory);
                var flash = new PowerCutFlash(directory, write, step);
                var acted = new AckLog();
                var receiver = new DownlinkReceiver(new FrameSeal(new HmacSha256(), Key, DeviceId, FrameCodecV2.Version), DeviceId, flash, 8, acted);
                try
                {
                    foreach (byte[] ack in acks)
                    {
                        receiver.Enqueue(ack);
                        receiver.ProcessQueued();
                    }
                }
                catch (PowerCutException)
                {
                    // Nothing after the cut ran: the ack being written never acted.
                }

                Assert.True(flash.HasCut, where);
                Assert.Equal(write - 1, acted.Seen.Count);
                flash.Power.Restore();

                // After the reboot every recorded ack is heard again, in order and then newest first.
                var rebooted = new DownlinkReceiver(new FrameSeal(new HmacSha256(), Key, DeviceId, FrameCodecV2.Version), DeviceId, flash, 8, acted = new AckLog());
                foreach (byte[] ack in acks.Take(write - 1).Concat(acks.Take(write - 1).Reverse()))
                {
                    rebooted.Enqueue(ack);
                    rebooted.ProcessQueued();
                }

                Assert.Empty(acted.Seen);

                // The gateway's next ack, in the newest epoch, still acts; then nothing of epoch 0 ever does again.
                rebooted.Enqueue(Ack(1, 3, 106));
                rebooted.ProcessQueued();
                foreach (byte[] ack in acks)
                {
                    rebooted.Enqueue(ack);
                    rebooted.ProcessQueued();
                }

                Assert.Equal(["106:Received"], acted.Seen);
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_cut_at_any_step_of_the_bells_own_move_to_a_new_epoch_never_reuses_a_counter_nor_lets_a_recorded_frame_through(bool wrap)
    {
        // A dry run finds the writes of the move: from the trigger (the re-key, or the counter reaching the wrap) to the
        // first frame of the new epoch.
        (int first, int last) = MoveWrites(wrap);
        Assert.True(last >= first, "the move writes to flash");
        for (int write = first; write <= last; write++)
        {
            foreach (CutStep step in Enum.GetValues<CutStep>())
            {
                string where = (wrap ? "wrap" : "re-key") + ", cut at " + step + " of write " + write;
                var flash = new PowerCutFlash(NewDirectory(), write, step);
                RekeyBell bell = Started(flash, wrap);
                try
                {
                    Trigger(bell, wrap);
                    bell.RunUntil(() => bell.Sent.Any(s => s.Frame.Epoch == 1), 10_000);
                }
                catch (PowerCutException)
                {
                    bell.Collect();
                }

                Assert.True(flash.HasCut, where);
                byte epochAtCut = bell.Sent.Max(s => s.Frame.Epoch);

                // Power back: the gateway repeats its re-key until the bell's frames show the new epoch.
                flash.Power.Restore();
                bell.Reboot();
                Assert.True(bell.Bell.KeyEpoch >= epochAtCut, where + ": the epoch fell back");
                if (!wrap)
                {
                    bell.DeliverRekey(1);
                }

                bell.RunUntil(() => bell.Sent.Any(s => s.Frame.Epoch == 1), 10_000);
                bell.Run(3000);
                RekeyTests.AssertReceiverRefusesTheOldEpoch(bell);
            }
        }
    }

    private (int First, int Last) MoveWrites(bool wrap)
    {
        var flash = new PowerCutFlash(NewDirectory(), int.MaxValue, CutStep.BeforeWrite);
        RekeyBell bell = Started(flash, wrap);
        int before = flash.Writes;
        Trigger(bell, wrap);
        bell.RunUntil(() => bell.Sent.Any(s => s.Frame.Epoch == 1), 10_000);
        return (before + 1, flash.Writes);
    }

    /// <summary>A bell that has sent heartbeats in epoch 0; for the wrap, two counters short of it.</summary>
    private static RekeyBell Started(PowerCutFlash flash, bool wrap)
    {
        if (wrap)
        {
            RekeyBell.SeedCounter(flash, 0, FrameCounter.DefaultWrapAt - 2);
        }

        var bell = new RekeyBell(flash);
        bell.Run(wrap ? 500 : 2500);
        Assert.All(bell.Sent, s => Assert.Equal(0, s.Frame.Epoch));
        return bell;
    }

    private static void Trigger(RekeyBell bell, bool wrap)
    {
        if (wrap)
        {
            // The next heartbeat takes the last counter before the wrap.
            bell.Run(1000);
        }
        else
        {
            bell.DeliverRekey(1);
        }
    }

    private string NewDirectory()
    {
        string directory = Path.Combine(Path.GetTempPath(), "anshimi-rekey-" + Guid.NewGuid().ToString("N"));
        _directories.Add(directory);
        return directory;
    }

    private byte[] Ack(byte epoch, uint downlinkCounter, uint alarmCounter)
    {
        var payload = new byte[5];
        BigEndian.WriteUInt32(payload, 0, alarmCounter);
        payload[4] = (byte)AckStage.Received;
        var frame = new byte[FrameCodecV2.DownlinkFrameLength];
        _codec.Encode(FrameType.Ack, downlinkCounter, 0, 0, 0, payload, 0, 5, new FrameKeySet(new HmacSha256(), Key, epoch), frame, 0);
        return frame;
    }

    private sealed class AckLog : IAckReceiver
    {
        public List<string> Seen { get; } = [];

        public void OnAck(uint ackedCounter, AckStage stage) => Seen.Add(ackedCounter + ":" + stage);
    }
}
