using System.Device.Wifi;
using System.Threading;
using nanoFramework.Networking;

namespace Anshimi.Bell.Device
{
    /// <summary>Joins the site's Wi-Fi with automatic reconnection, time-boxed so the bell's loop starts even without it.</summary>
    public static class WifiStation
    {
        public static bool Join(string ssid, string password, int timeoutMs)
        {
            var cancel = new CancellationTokenSource(timeoutMs);
            return WifiNetworkHelper.ConnectDhcp(ssid, password, WifiReconnectionKind.Automatic, true, 0, cancel.Token);
        }
    }
}
