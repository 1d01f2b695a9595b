using System.Globalization;
using Anshimi.Firmware.Hal;
using BitMiracle.LibJpeg;

namespace Anshimi.Firmware.Host;

/// <summary>
/// A deterministic stand-in for the doorbell's SPI camera (this machine has none). Each capture is a real
/// baseline JPEG (encoded by LibJpeg.NET) of a drawn porch: wall, door, porch light, doormat, a visitor whose
/// place and size come from the camera's seed and the shot number, light sensor noise, and the capture time
/// stamped along the bottom from the device clock. The same seed and times give the same images byte for byte.
/// </summary>
public sealed class SimulatedCamera(uint seed, IClock clock, int width = SimulatedCamera.DefaultWidth, int height = SimulatedCamera.DefaultHeight) : ICamera
{
    public const int DefaultWidth = 320;
    public const int DefaultHeight = 240;

    private const int Quality = 80;

    private readonly Lock _lock = new();
    private readonly List<byte[]> _images = [];

    /// <summary>When true the camera does not answer, as with a cut door-station cable.</summary>
    public bool Fail { get; set; }

    public int Width { get; } = width;

    public int Height { get; } = height;

    public int Shots
    {
        get
        {
            lock (_lock)
            {
                return _images.Count;
            }
        }
    }

    /// <summary>Every image captured so far, in order.</summary>
    public IReadOnlyList<byte[]> Images
    {
        get
        {
            lock (_lock)
            {
                return [.. _images];
            }
        }
    }

    /// <summary>The JPEG that shot number <paramref name="shot"/> (from 0) of a camera with <paramref name="seed"/> yields at <paramref name="takenAt"/>.</summary>
    public static byte[] ImageFor(uint seed, int shot, DateTime takenAt, int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 48);
        var scene = new Scene(width, height);
        var random = new XorShift((seed * 2654435761u) ^ ((uint)shot * 40503u) ^ 0x9E3779B9u);
        scene.Draw(random, takenAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));

        var rows = new SampleRow[height];
        for (int y = 0; y < height; y++)
        {
            rows[y] = new SampleRow(scene.Row(y), width, 8, 3);
        }

        using var image = new JpegImage(rows, Colorspace.RGB);
        using var output = new MemoryStream();
        image.WriteJpeg(output, new CompressionParameters { Quality = Quality });
        return output.ToArray();
    }

    public byte[]? Capture()
    {
        lock (_lock)
        {
            if (Fail)
            {
                return null;
            }

            byte[] image = ImageFor(seed, _images.Count, clock.UtcNow, Width, Height);
            _images.Add(image);
            return image;
        }
    }

    private sealed class XorShift(uint state)
    {
        private uint _state = state == 0 ? 1 : state;

        public uint Next()
        {
            _state ^= _state << 13;
            _state ^= _state >> 17;
            _state ^= _state << 5;
            return _state;
        }

        public int Next(int min, int max) => min + (int)(Next() % (uint)(max - min));
    }

    /// <summary>An RGB canvas with the few shapes a porch needs.</summary>
    private sealed class Scene(int width, int height)
    {
        // 5×7 glyphs of what a timestamp uses, one row per byte, high bit on the left.
        private static readonly Dictionary<char, byte[]> Glyphs = new()
        {
            ['0'] = [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
            ['1'] = [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
            ['2'] = [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
            ['3'] = [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
            ['4'] = [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
            ['5'] = [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
            ['6'] = [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
            ['7'] = [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
            ['8'] = [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
            ['9'] = [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
            ['-'] = [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
            [':'] = [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
            [' '] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
        };

        private readonly byte[] _pixels = new byte[width * height * 3];

        public byte[] Row(int y) => _pixels.AsSpan(y * width * 3, width * 3).ToArray();

        public void Draw(XorShift random, string stamp)
        {
            int floor = height * 3 / 4;
            for (int y = 0; y < floor; y++)
            {
                // Evening wall, a little lighter towards the porch light.
                int shade = 150 + (y * 30 / floor);
                Fill(0, y, width, 1, (byte)shade, (byte)(shade - 20), (byte)(shade - 50));
            }

            Fill(0, floor, width, height - floor, 95, 95, 100);
            int doorWidth = width / 4;
            int doorX = width / 2 - doorWidth / 2;
            int doorTop = height / 6;
            Fill(doorX - 4, doorTop - 4, doorWidth + 8, floor - doorTop + 4, 60, 45, 35);
            Fill(doorX, doorTop, doorWidth, floor - doorTop, 120, 72, 40);
            Disc(doorX + doorWidth - 10, (doorTop + floor) / 2, 3, 220, 190, 90);
            Disc(width / 8, height / 8, Math.Max(6, width / 32), 255, 240, 170);
            Fill(doorX - 8, floor + 4, doorWidth + 16, height / 16, 70, 90, 60);

            // The visitor: head and body, placed and sized by the seed and shot.
            int figureHeight = random.Next(height / 3, height / 2);
            int figureX = random.Next(width / 8, width * 7 / 8);
            int feet = floor + random.Next(2, height / 8);
            int head = Math.Max(4, figureHeight / 8);
            int bodyWidth = figureHeight / 4;
            (byte r, byte g, byte b) coat = ((byte)random.Next(20, 90), (byte)random.Next(20, 90), (byte)random.Next(40, 120));
            Fill(figureX - bodyWidth / 2, feet - figureHeight + 2 * head, bodyWidth, figureHeight - 2 * head, coat.r, coat.g, coat.b);
            Disc(figureX, feet - figureHeight + head, head, 200, 160, 130);

            for (int i = 0; i < _pixels.Length; i++)
            {
                int noisy = _pixels[i] + (int)(random.Next() % 9) - 4;
                _pixels[i] = (byte)Math.Clamp(noisy, 0, 255);
            }

            int scale = Math.Max(1, height / 120);
            int stampHeight = (7 + 4) * scale;
            Fill(0, height - stampHeight, width, stampHeight, 0, 0, 0);
            Text(stamp, 4 * scale, height - stampHeight + 2 * scale, scale);
        }

        private void Text(string text, int x, int y, int scale)
        {
            foreach (char c in text)
            {
                byte[] glyph = Glyphs[c];
                for (int row = 0; row < glyph.Length; row++)
                {
                    for (int column = 0; column < 5; column++)
                    {
                        if ((glyph[row] & (0x10 >> column)) != 0)
                        {
                            Fill(x + column * scale, y + row * scale, scale, scale, 255, 255, 255);
                        }
                    }
                }

                x += 6 * scale;
            }
        }

        private void Disc(int cx, int cy, int radius, byte r, byte g, byte b)
        {
            for (int y = cy - radius; y <= cy + radius; y++)
            {
                for (int x = cx - radius; x <= cx + radius; x++)
                {
                    if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius)
                    {
                        Fill(x, y, 1, 1, r, g, b);
                    }
                }
            }
        }

        private void Fill(int x0, int y0, int w, int h, byte r, byte g, byte b)
        {
            for (int y = Math.Max(0, y0); y < Math.Min(height, y0 + h); y++)
            {
                for (int x = Math.Max(0, x0); x < Math.Min(width, x0 + w); x++)
                {
                    int at = (y * width + x) * 3;
                    _pixels[at] = r;
                    _pixels[at + 1] = g;
                    _pixels[at + 2] = b;
                }
            }
        }
    }
}
