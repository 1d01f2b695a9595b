using Anshimi.Firmware.Host;

namespace Anshimi.Firmware.Tests;

public sealed class FileDeviceStorageTests
{
    [Fact]
    public void Records_round_trip_replace_atomically_and_refuse_path_names()
    {
        string dir = Directory.CreateTempSubdirectory("device-storage-").FullName;
        try
        {
            var storage = new FileDeviceStorage(dir);
            Assert.Null(storage.Read("alarms"));
            Assert.True(storage.Write("alarms", [1, 2, 3]));
            Assert.True(storage.Write("alarms", [4, 5]));
            Assert.Equal(new byte[] { 4, 5 }, new FileDeviceStorage(dir).Read("alarms"));
            Assert.Equal(["alarms.bin"], Directory.GetFiles(dir).Select(Path.GetFileName));
            Assert.Throws<ArgumentException>(() => storage.Read("../x"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
