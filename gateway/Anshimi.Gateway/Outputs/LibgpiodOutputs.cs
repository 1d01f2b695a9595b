using System.Runtime.InteropServices;

namespace Anshimi.Gateway.Outputs;

/// <summary>
/// GPIO output lines through libgpiod 1.6 (Debian package <c>libgpiod2</c>), the character-device API the
/// Raspberry Pi kernel offers. Errors from the library are turned into <see cref="GpioException"/>s here.
/// </summary>
public sealed partial class LibgpiodOutputs : IGpioOutputs
{
    private const string Library = "libgpiod.so.2";

    public IGpioOutputLine Open(string chip, int line, bool activeLow, string consumer)
    {
        IntPtr chipHandle;
        try
        {
            chipHandle = chip.StartsWith('/') ? ChipOpen(chip) : ChipOpenByName(chip);
        }
        catch (DllNotFoundException ex)
        {
            throw new GpioException("libgpiod is not installed (apt-get install libgpiod2): " + ex.Message);
        }

        if (chipHandle == IntPtr.Zero)
        {
            throw new GpioException($"GPIO chip '{chip}' cannot be opened: {LastError()}");
        }

        IntPtr lineHandle = ChipGetLine(chipHandle, (uint)line);
        if (lineHandle == IntPtr.Zero)
        {
            string error = LastError();
            ChipClose(chipHandle);
            throw new GpioException($"GPIO line {line} of '{chip}' does not exist: {error}");
        }

        int flags = activeLow ? LineRequestFlagActiveLow : 0;
        if (LineRequestOutputFlags(lineHandle, consumer, flags, 0) != 0)
        {
            string error = LastError();
            ChipClose(chipHandle);
            throw new GpioException($"GPIO line {line} of '{chip}' cannot be requested as an output (in use?): {error}");
        }

        return new Line(chipHandle, lineHandle, chip, line);
    }

    private static string LastError() => Marshal.GetLastPInvokeErrorMessage();

    private const int LineRequestFlagActiveLow = 1 << 2;

    [LibraryImport(Library, EntryPoint = "gpiod_chip_open_by_name", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial IntPtr ChipOpenByName(string name);

    [LibraryImport(Library, EntryPoint = "gpiod_chip_open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial IntPtr ChipOpen(string path);

    [LibraryImport(Library, EntryPoint = "gpiod_chip_close")]
    private static partial void ChipClose(IntPtr chip);

    [LibraryImport(Library, EntryPoint = "gpiod_chip_get_line", SetLastError = true)]
    private static partial IntPtr ChipGetLine(IntPtr chip, uint offset);

    [LibraryImport(Library, EntryPoint = "gpiod_line_request_output_flags", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LineRequestOutputFlags(IntPtr line, string consumer, int flags, int defaultValue);

    [LibraryImport(Library, EntryPoint = "gpiod_line_set_value", SetLastError = true)]
    private static partial int LineSetValue(IntPtr line, int value);

    [LibraryImport(Library, EntryPoint = "gpiod_line_release")]
    private static partial void LineRelease(IntPtr line);

    private sealed class Line(IntPtr chip, IntPtr line, string chipName, int offset) : IGpioOutputLine
    {
        private readonly Lock _lock = new();
        private bool _disposed;

        public void Write(bool active)
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (LineSetValue(line, active ? 1 : 0) != 0)
                {
                    throw new GpioException($"GPIO line {offset} of '{chipName}' cannot be set: {LastError()}");
                }
            }
        }

        public void Dispose()
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                LineRelease(line);
                ChipClose(chip);
            }
        }
    }
}
