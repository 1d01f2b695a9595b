using System.Runtime.InteropServices;

namespace Anshimi.Ble.Hci;

/// <summary>
/// A raw HCI socket on one adapter (Linux <c>AF_BLUETOOTH</c>, <c>BTPROTO_HCI</c>, channel raw) through libc.
/// Needs CAP_NET_RAW (or root). Errors become <see cref="BleTransportException"/> with the errno text.
/// </summary>
internal sealed partial class HciSocket : IDisposable
{
    public const int AfBluetooth = 31;
    public const int SockRaw = 3;
    public const int BtProtoHci = 1;
    public const int SolHci = 0;
    public const int HciFilterOption = 2;
    public const ushort HciChannelRaw = 0;

    private const short PollIn = 0x0001;
    private const int EIntr = 4;

    private int _fd;

    private HciSocket(int fd)
    {
        _fd = fd;
    }

    /// <summary>Opens, binds to adapter <paramref name="deviceId"/> and lets through only the events the transport parses.</summary>
    public static HciSocket Open(int deviceId)
    {
        int fd = Socket(AfBluetooth, SockRaw | 0x80000 /* SOCK_CLOEXEC */, BtProtoHci);
        if (fd < 0)
        {
            throw Failure("socket(AF_BLUETOOTH, SOCK_RAW, BTPROTO_HCI)");
        }

        var socket = new HciSocket(fd);
        try
        {
            socket.Bind(deviceId);
            socket.SetFilter(HciFilter.ForTransport());
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public unsafe void Write(byte[] packet)
    {
        fixed (byte* p = packet)
        {
            nint written = WriteNative(_fd, p, packet.Length);
            if (written != packet.Length)
            {
                throw Failure("write of HCI command 0x" + HciCommands.OpcodeOf(packet).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>Reads one packet into <paramref name="buffer"/>; 0 when nothing arrived within <paramref name="timeoutMs"/>.</summary>
    public unsafe int Read(byte[] buffer, int timeoutMs)
    {
        var poll = new PollFd { Fd = _fd, Events = PollIn };
        int ready = Poll(&poll, 1, timeoutMs);
        if (ready < 0)
        {
            return Marshal.GetLastPInvokeError() == EIntr ? 0 : throw Failure("poll");
        }

        if (ready == 0)
        {
            return 0;
        }

        fixed (byte* p = buffer)
        {
            nint read = ReadNative(_fd, p, buffer.Length);
            return read >= 0 ? (int)read : throw Failure("read");
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = Close(fd);
        }
    }

    private static BleTransportException Failure(string operation)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new BleTransportException(operation + " failed: " + Marshal.GetPInvokeErrorMessage(errno) + " (errno " + errno + ")");
    }

    private unsafe void Bind(int deviceId)
    {
        var address = new SockAddrHci { Family = AfBluetooth, Device = (ushort)deviceId, Channel = HciChannelRaw };
        if (BindNative(_fd, &address, sizeof(SockAddrHci)) < 0)
        {
            throw Failure("bind to hci" + deviceId);
        }
    }

    private unsafe void SetFilter(HciFilter filter)
    {
        if (SetSockOpt(_fd, SolHci, HciFilterOption, &filter, sizeof(HciFilter)) < 0)
        {
            throw Failure("setsockopt(SOL_HCI, HCI_FILTER)");
        }
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static unsafe partial int BindNative(int fd, SockAddrHci* address, int length);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static unsafe partial int SetSockOpt(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint WriteNative(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadNative(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    /// <summary><c>struct sockaddr_hci</c>: family, device id, channel (three unsigned shorts).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SockAddrHci
    {
        public ushort Family;
        public ushort Device;
        public ushort Channel;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}

/// <summary>
/// <c>struct hci_ufilter</c> (16 bytes with padding): which packet types and event codes the socket passes up.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct HciFilter
{
    public uint TypeMask;
    public uint EventMaskLow;
    public uint EventMaskHigh;
    public ushort Opcode;
    public ushort Padding;

    /// <summary>Event packets only: Command Complete, Command Status and LE Meta.</summary>
    public static HciFilter ForTransport()
    {
        var filter = default(HciFilter);
        filter.TypeMask = 1u << HciEvents.EventPacket;
        filter.SetEvent(HciEvents.CommandComplete);
        filter.SetEvent(HciEvents.CommandStatus);
        filter.SetEvent(HciEvents.LeMeta);
        return filter;
    }

    public void SetEvent(byte code)
    {
        if (code < 32)
        {
            EventMaskLow |= 1u << code;
        }
        else
        {
            EventMaskHigh |= 1u << (code - 32);
        }
    }
}
