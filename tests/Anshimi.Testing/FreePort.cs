using System.Net;
using System.Net.Sockets;

namespace Anshimi.Testing;

public static class FreePort
{
    /// <summary>
    /// A loopback TCP port that was free a moment ago. Another process can still take it before it is
    /// bound again, so callers that start servers retry with a new port when binding fails.
    /// </summary>
    /// <remarks>
    /// Never the same port twice in one test process: the kernel may hand out a just-released port again, and two
    /// servers of one set-up given the same port make the second fail to bind while the first answers for both.
    /// </remarks>
    public static int Next() => Unique(SocketType.Stream, ProtocolType.Tcp, HandedOutTcp);

    /// <summary>A loopback UDP port that was free a moment ago (the same caveats as <see cref="Next"/>).</summary>
    public static int NextUdp() => Unique(SocketType.Dgram, ProtocolType.Udp, HandedOutUdp);

    private static readonly HashSet<int> HandedOutTcp = [];
    private static readonly HashSet<int> HandedOutUdp = [];

    private static int Unique(SocketType type, ProtocolType protocol, HashSet<int> handedOut)
    {
        while (true)
        {
            int port;
            using (var socket = new Socket(AddressFamily.InterNetwork, type, protocol))
            {
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            }

            lock (handedOut)
            {
                if (handedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
