using Anshimi.Firmware.Host;
using BitMiracle.LibJpeg;

namespace Anshimi.Firmware.Tests.Doorbell;

[Trait("Category", "Privacy")]
public sealed class SimulatedCameraTests
{
    [Fact]
    public void Each_capture_is_a_decodable_JPEG_of_the_cameras_size_the_same_for_the_same_seed_and_time()
    {
        var clock = new VirtualClock();
        var camera = new SimulatedCamera(0x00D0B311, clock);
        var twin = new SimulatedCamera(0x00D0B311, clock);

        byte[] first = camera.Capture()!;
        Assert.Equal(first, twin.Capture());
        clock.Advance(1000);
        byte[] second = camera.Capture()!;

        Assert.NotEqual(first, second);
        Assert.Equal([first, second], camera.Images);
        Assert.Equal([0xFF, 0xD8], first[..2]);
        Assert.Equal([0xFF, 0xD9], first[^2..]);
        using var decoded = new JpegImage(new MemoryStream(first));
        Assert.Equal((SimulatedCamera.DefaultWidth, SimulatedCamera.DefaultHeight, 3), (decoded.Width, decoded.Height, (int)decoded.ComponentsPerSample));

        // A picture, not noise: the porch's rows differ from each other but neighbouring pixels mostly agree.
        byte[] row = Row(decoded, SimulatedCamera.DefaultHeight / 2);
        Assert.True(row.Zip(row.Skip(3)).Count(p => Math.Abs(p.First - p.Second) < 24) > row.Length * 3 / 4);
        Assert.NotEqual(Row(decoded, 10), Row(decoded, SimulatedCamera.DefaultHeight - 5));

        string directory = Path.Combine(AppContext.BaseDirectory, "TestResults", "snapshots");
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, "doorbell-camera.jpg"), first);
    }

    [Fact]
    public void Another_seed_shows_another_scene_and_a_failed_camera_gives_nothing()
    {
        var clock = new VirtualClock();
        Assert.NotEqual(new SimulatedCamera(1, clock).Capture(), new SimulatedCamera(2, clock).Capture());

        var camera = new SimulatedCamera(1, clock) { Fail = true };
        Assert.Null(camera.Capture());
        Assert.Equal(0, camera.Shots);
    }

    private static byte[] Row(JpegImage image, int y)
    {
        SampleRow row = image.GetRow(y);
        return [.. Enumerable.Range(0, row.Length).SelectMany(x => Enumerable.Range(0, row[x].ComponentCount).Select(c => (byte)row[x][c]))];
    }
}
