using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Tests.Adapters;

/// <summary>Where in one <see cref="FlashStorage"/> write the power goes away.</summary>
public enum CutStep
{
    /// <summary>Before anything reached the flash.</summary>
    BeforeWrite,

    /// <summary>Half of the new bytes are in <c>name.new</c>; the old entry stands.</summary>
    NewHalfWritten,

    /// <summary><c>name.new</c> is complete; the old entry stands.</summary>
    NewWritten,

    /// <summary>The old entry is deleted; <c>name.new</c> not yet renamed.</summary>
    OldDeleted,

    /// <summary>The write is complete; nothing after it ran.</summary>
    AfterWrite,
}

/// <summary>Thrown where the power went away: nothing after it runs.</summary>
public sealed class PowerCutException : Exception
{
    public PowerCutException(string entry, CutStep step)
        : base("power cut at " + step + " of writing " + entry)
    {
    }
}

/// <summary>The device's power: it goes away at the <paramref name="cutAtWrite"/>-th write to its flash, counted over every adapter sharing it.</summary>
public sealed class PowerCut(int cutAtWrite)
{
    public int Writes { get; private set; }

    public bool HasCut { get; private set; }

    /// <summary>Counts one write; true when the power goes away during it.</summary>
    public bool CutsNow()
    {
        if (++Writes != cutAtWrite)
        {
            return false;
        }

        HasCut = true;
        return true;
    }
}

/// <summary>
/// The device apps' flash adapter on a real directory, with the power cut at one step of its <paramref name="cutAtWrite"/>-th
/// write: the files are left exactly as <see cref="FlashStorage.Write"/> leaves them at that step (write
/// <c>name.new</c>, delete the entry, rename), and the device stops there. Every other write goes through.
/// </summary>
public sealed class PowerCutFlash(string directory, PowerCut power, CutStep step) : IDeviceStorage
{
    private readonly FlashStorage _flash = new(directory);

    public PowerCutFlash(string directory, int cutAtWrite, CutStep step)
        : this(directory, new PowerCut(cutAtWrite), step)
    {
    }

    public int Writes => power.Writes;

    public bool HasCut => power.HasCut;

    public byte[]? Read(string name) => _flash.Read(name);

    public bool Write(string name, byte[] data)
    {
        if (!power.CutsNow())
        {
            return _flash.Write(name, data);
        }

        string entry = Path.Combine(directory, name);
        string next = entry + ".new";
        switch (step)
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

        throw new PowerCutException(name, step);
    }
}
