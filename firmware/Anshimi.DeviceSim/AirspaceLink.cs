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
/// on the in-process air, where distance decides which lights hear them.
/// </summary>
public sealed class AirspaceLink : IAsyncDisposable
{
    /// <summary>Prefix of the simulated devices' addresses in the airspace (a static random address; the gateway's is 02:A5:…).</summary>
    private const ulong AddressPrefix = 0xC2A5_0000_0000UL;

    private readonly IBridgeableRadio _radio;
    private readonly IBleTransport _transport;
    private readonly Action<string> _report;
    private readonly Channel<(byte[]? Data, int IntervalMs)> _changes = Channel.CreateUnbounded<(byte[]?, int)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _pump;

    public AirspaceLink(IBridgeableRadio radio, IBleTransport transport, Action<string> report)
    {
        _radio = radio;
        _transport = transport;
        _report = report;
        _radio.AdvertisingChanged += OnAdvertisingChanged;
        _transport.AdvertisementReceived += OnHeard;
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>Joins the hub at <paramref name="hub"/> with an address derived from <paramref name="deviceId"/>.</summary>
    public static AirspaceLink Join(IBridgeableRadio radio, IPEndPoint hub, uint deviceId, Action<string> report) =>
        new(radio, new UdpAirspaceTransport(hub, AddressOf(deviceId), TimeProvider.System), report);

    public static BleAddress AddressOf(uint deviceId) => new(AddressPrefix | deviceId);

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

    private void OnAdvertisingChanged(byte[]? data, int intervalMs) => _changes.Writer.TryWrite((data, intervalMs));

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
            (byte[]? data, int intervalMs) = (null, 0);
            while (_changes.Reader.TryRead(out (byte[]? Data, int IntervalMs) next))
            {
                (data, intervalMs) = next;
            }

            try
            {
                if (data is null)
                {
                    await _transport.ClearAdvertisingAsync(CancellationToken.None);
                }
                else
                {
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
