using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// The device's own record adapter (<see cref="FlashStorage"/>) on the simulated device's state directory, on its
/// simulated power: at the planned write the files are left exactly as <see cref="FlashStorage.Write"/> leaves them at the
/// cut's step (write <c>name.new</c>, delete the entry, rename) and the device stops there.
/// </summary>
public sealed class PowerCutFlash : IDeviceStorage
{
    private readonly string _directory;
    private readonly FlashStorage _flash;

    public PowerCutFlash(string directory, PowerCut power)
    {
        _directory = directory;
        _flash = new FlashStorage(directory);
        Power = power;
    }

    /// <summary>A flash of its own, whose power goes away at <paramref name="step"/> of its <paramref name="cutAtWrite"/>-th write.</summary>
    public PowerCutFlash(string directory, int cutAtWrite, CutStep step)
        : this(directory, new PowerCut(cutAtWrite, step))
    {
    }

    public PowerCut Power { get; }

    public int Writes => Power.Writes;

    public bool HasCut => Power.HasCut;

    public byte[]? Read(string name)
    {
        Power.ThrowIfOff(name);
        return _flash.Read(name);
    }

    public bool Write(string name, byte[] data)
    {
        if (!Power.CutsAt(new FlashWrite(name, Deletes: false)))
        {
            return _flash.Write(name, data);
        }

        // The adapter's write begins by promoting a .new left by an earlier cut: reading does the same.
        _flash.Read(name);
        string entry = Path.Combine(_directory, name);
        string next = entry + ".new";
        switch (Power.Step)
        {
            case CutStep.NewHalfWritten:
                File.WriteAllBytes(next, data[..(data.Length / 2)]);
                break;
            case CutStep.NewWritten:
                File.WriteAllBytes(next, data);
                break;
            case CutStep.OldDeleted:
                File.WriteAllBytes(next, data);
                File.Delete(entry);
                break;
            case CutStep.AfterWrite:
                _flash.Write(name, data);
                break;
        }

        throw new PowerCutException(name, Power.Step);
    }
}
