using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Host;

namespace Anshimi.Firmware.Tests.Adapters;

/// <summary>
/// The simulated power supply over the device's own flash adapters: the cut falls on the planned write among the writes
/// counted, leaves the files as the adapter would at that step, stops every further flash access, and the power comes
/// back on the files the cut left.
/// </summary>
public sealed class PowerCutTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "anshimi-power-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void The_cut_falls_on_the_planned_counted_write_and_every_flash_access_stops_until_the_power_comes_back()
    {
        var power = new PowerCut();
        var records = new PowerCutFlash(_directory, power);
        var files = new PowerCutFiles(new FlashFiles(_directory, 1024 * 1024), power);
        Assert.True(records.Write("counter", [1]));
        Assert.Equal(0, power.Writes);

        // Only the slot files count: the second of them is cut half-written.
        power.Plan(2, CutStep.NewHalfWritten, write => write.Entry.StartsWith("ota/", StringComparison.Ordinal));
        Assert.True(records.Write("counter", [2]));
        Assert.True(files.Write("a/signature", [1, 2, 3, 4]));
        Assert.True(records.Write("counter", [3]));
        PowerCutException cut = Assert.Throws<PowerCutException>(() => files.WriteAt("part", 0, [9, 9, 9, 9, 9, 9], 0, 6));
        Assert.Equal("ota/part", cut.Entry);
        Assert.Equal([new FlashWrite("ota/a/signature", false), new FlashWrite("ota/part", false)], power.Counted);

        Assert.True(power.IsOff);
        Assert.Throws<PowerCutException>(() => records.Read("counter"));
        Assert.Throws<PowerCutException>(() => records.Write("counter", [4]));
        Assert.Throws<PowerCutException>(() => files.Read("a/signature"));

        power.Restore();
        Assert.Equal([3], records.Read("counter"));
        Assert.Equal([9, 9, 9], files.Read("part"));
        Assert.True(power.HasCut);
        Assert.True(records.Write("counter", [5]));
    }

    [Theory]
    [InlineData(CutStep.BeforeWrite, new byte[] { 1, 2, 3, 4 })]
    [InlineData(CutStep.NewHalfWritten, new byte[] { 1, 2, 3, 4 })]
    [InlineData(CutStep.NewWritten, new byte[] { 1, 2, 3, 4 })]
    [InlineData(CutStep.OldDeleted, new byte[] { 5, 6 })]
    [InlineData(CutStep.AfterWrite, new byte[] { 5, 6 })]
    public void A_record_cut_at_each_step_reads_back_whole_the_old_or_the_new_bytes(CutStep step, byte[] expected)
    {
        new FlashStorage(_directory).Write("loader", [1, 2, 3, 4]);
        var records = new PowerCutFlash(_directory, 1, step);

        Assert.Throws<PowerCutException>(() => records.Write("loader", [5, 6]));

        Assert.Equal(expected, new FlashStorage(_directory).Read("loader"));
    }
}
