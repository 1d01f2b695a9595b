using System.Net;
using System.Net.Sockets;

namespace Anshimi.Testing;

public static class FreePort
{
    /// <summary>
    /// A loopback TCP port that was free a moment ago. Another process can still take it before it is
    /// bound again, so callers that start servers retry with a new port when binding fails.
    /// </summary>
    public static int Next()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>A loopback UDP port that was free a moment ago (the same caveat as <see cref="Next"/>).</summary>
    public static int NextUdp()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
