using System.Runtime.InteropServices;

namespace Anshimi.Testing;

internal static partial class Posix
{
    public const int SigTerm = 15;

    public const int SigStop = 19;

    /// <summary>Sends a signal; .NET itself only offers SIGKILL (Process.Kill).</summary>
    public static void Signal(int processId, int signal)
    {
        // ESRCH: it already exited, which is what the caller wants anyway.
        if (Kill(processId, signal) != 0 && Marshal.GetLastPInvokeError() != 3)
        {
            throw new InvalidOperationException($"kill({processId}, {signal}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
