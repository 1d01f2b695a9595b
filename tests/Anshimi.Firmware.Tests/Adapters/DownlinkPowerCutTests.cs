using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests.Adapters;

/// <summary>
/// A bell's ack floor on the device apps' flash adapter, with the power cut at every step of every write it makes while
/// it takes a run of acks: after each cut the floor is at least the newest ack it acted on, none of the recorded acks it
/// acted on acts again, and the gateway's next ack still does.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class DownlinkPowerCutTests : IDisposable
{
    private const uint DeviceId = 0x0012AB34;
    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    private readonly FrameCodec _codec = new(new HmacSha256());
    private readonly List<string> _directories = [];

    public void Dispose()
    {
        foreach (string directory in _directories.Where(Directory.Exists))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_cut_at_any_step_of_any_ack_write_never_lowers_the_floor_nor_lets_a_recorded_ack_act_again()
    {
        byte[][] acks = [.. Enumerable.Range(1, 5).Select(i => _codec.Encode(Frame.Ack(DeviceId, (uint)i, (uint)(100 + i), AckStage.Received), Key))];
        for (int write = 1; write <= acks.Length; write++)
        {
            foreach (CutStep step in Enum.GetValues<CutStep>())
            {
                string directory = Path.Combine(Path.GetTempPath(), "anshimi-cut-" + Guid.NewGuid().ToString("N"));
                _directories.Add(directory);
                var flash = new PowerCutFlash(directory, write, step);
                var acted = new AckLog();
                var receiver = new DownlinkReceiver(new FrameSeal(new HmacSha256(), Key, DeviceId, 1), DeviceId, flash, 8, acted);
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
                    // Nothing after the cut ran.
                }

                flash.Power.Restore();

                string where = "cut at " + step + " of write " + write;
                Assert.Equal(write - 1, acted.Seen.Count);

                var rebooted = new DownlinkReceiver(new FrameSeal(new HmacSha256(), Key, DeviceId, 1), DeviceId, flash, 8, acted = new AckLog());
                Assert.True(rebooted.HighestAccepted >= write - 1, where);
                foreach (byte[] ack in acks.Take(write - 1))
                {
                    rebooted.Enqueue(ack);
                    rebooted.ProcessQueued();
                }

                Assert.Empty(acted.Seen);
                rebooted.Enqueue(_codec.Encode(Frame.Ack(DeviceId, 6, 106, AckStage.OperatorAcknowledged), Key));
                rebooted.ProcessQueued();
                Assert.Equal(["106:OperatorAcknowledged"], acted.Seen);
            }
        }
    }

    private sealed class AckLog : IAckReceiver
    {
        public List<string> Seen { get; } = [];

        public void OnAck(uint ackedCounter, AckStage stage) => Seen.Add(ackedCounter + ":" + stage);
    }
}
