using System.Buffers.Binary;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// A deterministic stand-in for the doorbell's SPI camera. Each capture is JPEG-framed (SOI, an APP0
/// "JFIF" header, EOI) around a pattern drawn from the camera's seed and the shot number, so the same
/// seed gives the same sequence of images byte for byte, and every image differs from the one before.
/// The pattern is not a decodable picture: it exercises chunking and hashing with realistic sizes.
/// </summary>
public sealed class SimulatedCamera(uint seed, int imageBytes = 6000) : ICamera
{
    private static readonly byte[] Header = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00];
    private readonly Lock _lock = new();
    private int _shots;

    /// <summary>When true the camera does not answer, as with a cut door-station cable.</summary>
    public bool Fail { get; set; }

    public int Shots
    {
        get
        {
            lock (_lock)
            {
                return _shots;
            }
        }
    }

    /// <summary>The image that shot number <paramref name="shot"/> (from 0) of a camera with <paramref name="seed"/> yields.</summary>
    public static byte[] ImageFor(uint seed, int shot, int imageBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageBytes, Header.Length + 2);
        var image = new byte[imageBytes];
        Header.CopyTo(image, 0);

        // xorshift32 over seed and shot: deterministic, and no 0xFF bytes, so no stray JPEG markers.
        uint state = (seed * 2654435761u) ^ ((uint)shot * 40503u) ^ 0x9E3779B9u;
        if (state == 0)
        {
            state = 1;
        }

        for (int i = Header.Length; i < imageBytes - 2; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            image[i] = (byte)(state % 255);
        }

        BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(imageBytes - 2), 0xFFD9);
        return image;
    }

    public byte[]? Capture()
    {
        lock (_lock)
        {
            if (Fail)
            {
                return null;
            }

            return ImageFor(seed, _shots++, imageBytes);
        }
    }
}
