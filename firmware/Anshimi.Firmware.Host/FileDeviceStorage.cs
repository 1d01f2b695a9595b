using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// Device records as files in one directory, written like flash should be: to a temporary file,
/// flushed to disk, then renamed over the old record so a crash leaves the old or the new bytes.
/// </summary>
public sealed class FileDeviceStorage : IDeviceStorage
{
    private readonly string _directory;

    public FileDeviceStorage(string directory)
    {
        _directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(_directory);
    }

    public byte[]? Read(string name)
    {
        string path = PathOf(name);
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    public bool Write(string name, byte[] data)
    {
        string path = PathOf(name);
        string temp = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(data);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private string PathOf(string name)
    {
        // Record names are fixed identifiers, never paths.
        if (name.Length == 0 || name.IndexOfAny(['/', '\\', '.']) >= 0)
        {
            throw new ArgumentException("record name must be a plain word: " + name, nameof(name));
        }

        return Path.Combine(_directory, name + ".bin");
    }
}
