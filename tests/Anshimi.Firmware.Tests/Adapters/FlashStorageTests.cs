using Anshimi.Firmware.Adapters;

namespace Anshimi.Firmware.Tests.Adapters;

/// <summary>
/// The device apps' flash records on a real file system, with power cuts staged by leaving the files a cut
/// would leave: each entry reads as the old or the new bytes, never a mix and never nothing.
/// </summary>
public sealed class FlashStorageTests : IDisposable
{
    private static readonly byte[] Old = [1, 2, 3, 4];
    private static readonly byte[] New = [9, 8, 7];

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "anshimi-flash-" + Guid.NewGuid().ToString("N"));

    private string Entry => Path.Combine(_directory, "counter");

    private string Next => Entry + ".new";

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void An_entry_reads_back_what_was_last_written_from_its_one_file_and_a_missing_one_reads_as_null()
    {
        var storage = new FlashStorage(_directory);
        Assert.Null(storage.Read("counter"));

        Assert.True(storage.Write("counter", Old));
        Assert.True(storage.Write("counter", New));

        Assert.Equal(New, storage.Read("counter"));
        Assert.Equal(New, new FlashStorage(_directory).Read("counter"));

        // One file per entry, named as the entry: the simulator's state directories hold the device's own layout.
        Assert.Equal(["counter"], Directory.GetFiles(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public void A_cut_while_the_new_bytes_were_being_written_leaves_the_old_entry()
    {
        var storage = new FlashStorage(_directory);
        storage.Write("counter", Old);
        File.WriteAllBytes(Next, [9]);

        Assert.Equal(Old, new FlashStorage(_directory).Read("counter"));
    }

    [Fact]
    public void A_cut_between_deleting_the_old_entry_and_renaming_the_new_one_reads_the_new_bytes_and_keeps_them()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllBytes(Next, New);

        var storage = new FlashStorage(_directory);
        Assert.Equal(New, storage.Read("counter"));

        // Promoted back to the entry: the next write no longer has the only copy under the name it overwrites.
        Assert.True(File.Exists(Entry));
        Assert.False(File.Exists(Next));
        Assert.Equal(New, File.ReadAllBytes(Entry));
    }

    [Fact]
    public void A_write_the_drive_refuses_returns_false_and_the_old_entry_stands()
    {
        var storage = new FlashStorage(_directory);
        storage.Write("counter", Old);

        // A directory where the temporary file must go: creating it fails as a full or broken drive would.
        Directory.CreateDirectory(Next);

        Assert.False(storage.Write("counter", New));
        Assert.Equal(Old, storage.Read("counter"));
    }
}
