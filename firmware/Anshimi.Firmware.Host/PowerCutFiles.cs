using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// The device's own slot-file adapter (<see cref="FlashFiles"/>) on the simulated device's power. Its writes are not
/// atomic: cut before the write nothing changed, cut half-written half the bytes are in place (a whole file written anew
/// is first truncated), cut later the bytes are all there; a delete is one step, done from <see cref="CutStep.OldDeleted"/>.
/// Entries are named by their path on the drive (<c>ota/part</c>, <c>ota/b/manifest</c>).
/// </summary>
public sealed class PowerCutFiles(FlashFiles files, PowerCut power) : IFirmwareFiles
{
    public long FreeBytes
    {
        get
        {
            power.ThrowIfOff("ota/");
            return files.FreeBytes;
        }
    }

    public byte[]? Read(string path)
    {
        power.ThrowIfOff(EntryOf(path));
        return files.Read(path);
    }

    public int Length(string path)
    {
        power.ThrowIfOff(EntryOf(path));
        return files.Length(path);
    }

    public bool ReadAt(string path, int position, byte[] buffer, int count)
    {
        power.ThrowIfOff(EntryOf(path));
        return files.ReadAt(path, position, buffer, count);
    }

    public bool WriteAt(string path, int position, byte[] data, int offset, int count)
    {
        if (!power.CutsAt(new FlashWrite(EntryOf(path), Deletes: false)))
        {
            return files.WriteAt(path, position, data, offset, count);
        }

        if (power.Step != CutStep.BeforeWrite)
        {
            files.WriteAt(path, position, data, offset, power.Step == CutStep.NewHalfWritten ? count / 2 : count);
        }

        throw new PowerCutException(EntryOf(path), power.Step);
    }

    public bool Write(string path, byte[] data)
    {
        if (!power.CutsAt(new FlashWrite(EntryOf(path), Deletes: false)))
        {
            return files.Write(path, data);
        }

        if (power.Step != CutStep.BeforeWrite)
        {
            files.Write(path, power.Step == CutStep.NewHalfWritten ? data[..(data.Length / 2)] : data);
        }

        throw new PowerCutException(EntryOf(path), power.Step);
    }

    public void Delete(string path)
    {
        if (!power.CutsAt(new FlashWrite(EntryOf(path), Deletes: true)))
        {
            files.Delete(path);
            return;
        }

        if (power.Step >= CutStep.OldDeleted)
        {
            files.Delete(path);
        }

        throw new PowerCutException(EntryOf(path), power.Step);
    }

    private static string EntryOf(string path) => "ota/" + path;
}
