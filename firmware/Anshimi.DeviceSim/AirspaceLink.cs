using System.Net;
using System.Threading.Channels;
using Anshimi.Ble;
using Anshimi.Ble.Simulation;
using Anshimi.Firmware.Host;

namespace Anshimi.DeviceSim;

/// <summary>
/// Makes one radio of the simulator's in-process air also a participant in the gateway's cross-process airspace (an
/// <see cref="AirspaceHub"/> over UDP): what the radio advertises goes out on both, and what the airspace carries
/// (the gateway's signed commands) reaches the radio as if the gateway's antenna were in range. Walkers' phones stay
/// on the in-process air, where distance decides which lights hear them. The radio's private address goes with each
/// advertisement, so the airspace sees it change as the in-process air does.
/// </summary>
public sealed class AirspaceLink : IAsyncDisposable
{
    private readonly IBridgeableRadio _radio;
    private readonly UdpAirspaceTransport _transport;
    private readonly Action<string> _report;
    private readonly Channel<(byte[]? Data, int IntervalMs, ulong Address)> _changes = Channel.CreateUnbounded<(byte[]?, int, ulong)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _pump;

    public AirspaceLink(IBridgeableRadio radio, UdpAirspaceTransport transport, Action<string> report)
    {
        _radio = radio;
        _transport = transport;
        _report = report;
        _radio.AdvertisingChanged += OnAdvertisingChanged;
        _transport.AdvertisementReceived += OnHeard;
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>Joins the hub at <paramref name="hub"/> under the radio's current address.</summary>
    public static AirspaceLink Join(IBridgeableRadio radio, IPEndPoint hub, Action<string> report) =>
        new(radio, new UdpAirspaceTransport(hub, new BleAddress(radio.Address), TimeProvider.System), report);

    /// <summary>Parses "host:port" of an airspace hub, naming the option when it is not one.</summary>
    public static IPEndPoint ParseHub(string text) =>
        IPEndPoint.TryParse(text, out IPEndPoint? endPoint) && endPoint.Port != 0
            ? endPoint
            : throw new FormatException("--airspace must be an address and port such as 127.0.0.1:18850; got '" + text + "'");

    public async ValueTask DisposeAsync()
    {
        _radio.AdvertisingChanged -= OnAdvertisingChanged;
        _transport.AdvertisementReceived -= OnHeard;
        _changes.Writer.TryComplete();
        await _pump;
        await _transport.DisposeAsync();
    }

    private void OnAdvertisingChanged(byte[]? data, int intervalMs) => _changes.Writer.TryWrite((data, intervalMs, _radio.Address));

    private void OnHeard(object? sender, BleAdvertisementReport report) => _radio.Receive(report.Data, report.Data.Length, report.Rssi);

    private async Task PumpAsync()
    {
        bool failing = false;
        try
        {
            await _transport.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);
        }
        catch (BleTransportException ex)
        {
            // The hub may start after the devices; the transport's hellos keep knocking until it does.
            failing = true;
            _report("BLE airspace: " + ex.Message);
        }

        while (await _changes.Reader.WaitToReadAsync())
        {
            // Only the newest advertisement matters: the radio replaced the others already.
            (byte[]? data, int intervalMs, ulong address) = (null, 0, 0);
            while (_changes.Reader.TryRead(out (byte[]? Data, int IntervalMs, ulong Address) next))
            {
                (data, intervalMs, address) = next;
            }

            try
            {
                if (data is null)
                {
                    await _transport.ClearAdvertisingAsync(CancellationToken.None);
                }
                else
                {
                    _transport.Address = new BleAddress(address);
                    await _transport.SetAdvertisingAsync(data, TimeSpan.FromMilliseconds(intervalMs), CancellationToken.None);
                }

                if (failing)
                {
                    failing = false;
                    _report("BLE airspace: reachable again");
                }
            }
            catch (ArgumentOutOfRangeException ex)
            {
                // Nothing a real controller would take (e.g. an interval under 20 ms): said, and not carried.
                _report("BLE airspace: advertisement not carried: " + ex.Message);
            }
            catch (BleTransportException ex)
            {
                if (!failing)
                {
                    failing = true;
                    _report("BLE airspace: " + ex.Message);
                }
            }
        }
    }
}
